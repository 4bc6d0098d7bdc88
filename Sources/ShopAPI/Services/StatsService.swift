import Identity
import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The merchant's figures: `GET /admin/stats` (admins only).
public struct StatsService: Sendable {
    let store: any StatsStore
    let clock: WallClock
    /// `SHOP_LOW_STOCK`: products with fewer units than this are listed.
    public var lowStockBelow: Int

    public init(store: any StatsStore, clock: WallClock = .system, lowStockBelow: Int = 5) {
        self.store = store
        self.clock = clock
        self.lowStockBelow = lowStockBelow
    }

    /// The longest period one request may ask for.
    public static let maxDays: Int64 = 366
    public static let topProducts = 10
    public static let lowStockLimit = 50

    /// The figures of `from` through `to` (UTC days, inclusive; by default the last 30 days, today included).
    public func stats(from rawFrom: String?, to rawTo: String?, caller: VerifiedCaller) async throws(APIError) -> StatsReport {
        guard caller.isAdmin else { throw .forbidden }
        let today = UTCDay(clock.now())
        func day(_ raw: String?, _ name: String, default value: UTCDay) throws(APIError) -> UTCDay {
            guard let raw else { return value }
            guard let day = UTCDay(raw) else { throw .badRequest("invalid_parameter", "'\(name)' must be a date, YYYY-MM-DD (UTC).") }
            return day
        }
        let to = try day(rawTo, "to", default: today)
        let from = try day(rawFrom, "from", default: to.adding(-29))
        guard from <= to else { throw .badRequest("invalid_parameter", "'from' must not be after 'to'.") }
        guard to.number - from.number < Self.maxDays else {
            throw .badRequest(
                "invalid_parameter", "The period is at most \(Self.maxDays) days; 'from' to 'to' is \(to.number - from.number + 1).")
        }
        let figures = try await mapped(try await store.stats(from: from, to: to))
        let low = try await mapped(try await store.lowStock(below: lowStockBelow, limit: Self.lowStockLimit))
        let currencies = Set(figures.days.keys).union(figures.products.keys).sorted()
        return StatsReport(
            from: from.description, to: to.description, lowStockBelow: lowStockBelow,
            currencies: currencies.map { currency in
                // Every day of the period, a day without figures as zeros: what a chart draws.
                let known = Dictionary(
                    (figures.days[currency] ?? []).map { ($0.date, $0) },
                    uniquingKeysWith: { a, b in
                        var sum = a
                        sum.add(b)
                        return sum
                    })
                var days: [DayFigures] = []
                var totals = DayFigures(date: "")
                var d = from
                while d <= to {
                    let f = known[d.description] ?? DayFigures(date: d.description)
                    totals.add(f)
                    days.append(f)
                    d = d.adding(1)
                }
                let top = (figures.products[currency] ?? []).sorted {
                    ($0.units, $0.revenue, $1.productId) > ($1.units, $1.revenue, $0.productId)
                }.prefix(Self.topProducts)
                return CurrencyStats(
                    currency: currency, revenue: totals.revenue, refunds: totals.refunds,
                    orders: .init(placed: totals.placed, paid: totals.paid, fulfilled: totals.fulfilled, cancelled: totals.cancelled),
                    days: days, topProducts: Array(top))
            },
            lowStock: low.map { LowStock(productId: $0.id, name: $0.name, quantity: $0.quantity) })
    }
}

/// `GET /admin/stats`'s answer.
public struct StatsReport: Sendable, Encodable, Equatable {
    public var from: String
    public var to: String
    public var lowStockBelow: Int
    public var currencies: [CurrencyStats]
    public var lowStock: [LowStock]
}

public struct CurrencyStats: Sendable, Encodable, Equatable {
    public var currency: String
    /// The totals of the orders paid in the period (by the day they were paid).
    public var revenue: Int
    public var refunds: Int
    public var orders: Counts
    public var days: [DayFigures]
    /// The ten products that sold the most units (then revenue) in orders paid in the period.
    public var topProducts: [ProductSales]

    public struct Counts: Sendable, Encodable, Equatable {
        public var placed: Int
        public var paid: Int
        public var fulfilled: Int
        public var cancelled: Int
    }
}

public struct LowStock: Sendable, Encodable, Equatable {
    public var productId: String
    public var name: String
    public var quantity: Int
}
