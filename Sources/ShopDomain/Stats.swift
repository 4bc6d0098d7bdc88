import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A UTC calendar day, `YYYY-MM-DD`.
public struct UTCDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public var number: Int64

    public init(number: Int64) { self.number = number }

    public init(_ date: Date) { number = Self.floor(date.unixMillis, 86_400_000) }

    static func floor(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Parses `YYYY-MM-DD` (a real date, years 1970–9999); nil otherwise.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func digits(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for b in bytes[range] {
                guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(b - UInt8(ascii: "0"))
            }
            return value
        }
        guard let y = digits(0..<4), let m = digits(5..<7), let d = digits(8..<10), y >= 1970, (1...12).contains(m), d >= 1 else {
            return nil
        }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let lengths: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= lengths[Int(m - 1)] else { return nil }
        // Days from civil (Howard Hinnant's days_from_civil).
        let yy = m <= 2 ? y - 1 : y
        let era = Self.floor(yy, 400)
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        number = era * 146_097 + doe - 719_468
    }

    /// The day's first millisecond.
    public var start: Date { Date(unixMillis: number * 86_400_000) }

    public func adding(_ days: Int64) -> UTCDay { UTCDay(number: number + days) }

    public var description: String {
        let c = CivilTime(unixMillis: number * 86_400_000)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }

    public static func < (a: UTCDay, b: UTCDay) -> Bool { a.number < b.number }
}

/// One currency's figures of one day: what was paid (by the day it was paid), refunded, and how many orders were
/// placed, paid, fulfilled and cancelled that day.
public struct DayFigures: Sendable, Equatable, Codable {
    public var date: String
    public var revenue: Int
    public var refunds: Int
    public var placed: Int
    public var paid: Int
    public var fulfilled: Int
    public var cancelled: Int

    public init(date: String, revenue: Int = 0, refunds: Int = 0, placed: Int = 0, paid: Int = 0, fulfilled: Int = 0, cancelled: Int = 0) {
        self.date = date
        self.revenue = revenue
        self.refunds = refunds
        self.placed = placed
        self.paid = paid
        self.fulfilled = fulfilled
        self.cancelled = cancelled
    }

    public mutating func add(_ other: DayFigures) {
        revenue += other.revenue
        refunds += other.refunds
        placed += other.placed
        paid += other.paid
        fulfilled += other.fulfilled
        cancelled += other.cancelled
    }
}

/// What one product sold (in orders paid in the period), in one currency.
public struct ProductSales: Sendable, Equatable, Codable {
    public var productId: String
    public var name: String
    public var units: Int
    public var revenue: Int

    public init(productId: String, name: String, units: Int, revenue: Int) {
        self.productId = productId
        self.name = name
        self.units = units
        self.revenue = revenue
    }
}

/// What a store answers for a period: per currency, each day's figures (days without any may be left out) and each
/// product's sales.
public struct StatsFigures: Sendable, Equatable {
    public var days: [String: [DayFigures]]
    public var products: [String: [ProductSales]]

    public init(days: [String: [DayFigures]] = [:], products: [String: [ProductSales]] = [:]) {
        self.days = days
        self.products = products
    }
}
