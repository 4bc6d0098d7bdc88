import Foundation
import ShopDomain
import ShopStorage
import Testing

/// The stores of one backend, freshly emptied, handed to each conformance case.
public typealias StoreHarness = ShopStores

/// The behaviour every backend must show, run by each backend's own test target:
/// `@Test(arguments: StorageConformance.cases) func conformance(_ c: ...)`.
public enum StorageConformance {
    /// One named conformance case.
    public struct Case: Sendable, CustomStringConvertible, CustomTestStringConvertible {
        public let name: String
        public let run: @Sendable (StoreHarness) async throws -> Void
        public var description: String { name }
        public var testDescription: String { name }
    }

    /// Every case, in a stable order.
    public static let cases: [Case] =
        catalogCases + orderCases + userCases + raceCases + paymentCases + openOrderCases + shippingCases
        + outboxCases + statsCases + variantCases

    // A fixed clock: cases pass explicit times, never sleep.
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func makeProduct(
        _ id: String? = nil, name: String = "Walnut desk lamp", price: Int = 4_500, quantity: Int = 10,
        category: String = "home", at date: Date = t0
    ) -> Product {
        Product(
            id: id ?? Identifier.make(at: date), name: name, description: "Warm light.", price: price,
            currency: "USD", quantity: quantity, category: category, version: 1, createdAt: date, updatedAt: date)
    }

    static func makeOrder(userId: String = "user-1", products: [(Product, Int)], at date: Date = t0, ttl: Double = 900) -> Order {
        let lines = products.map { OrderLine(productId: $0.0.id, name: $0.0.name, unitPrice: $0.0.price, quantity: $0.1) }
        return Order(
            id: Identifier.make(at: date), userId: userId, lines: lines, total: lines.reduce(0) { $0 + $1.lineTotal },
            currency: "USD", status: .pendingPayment, createdAt: date, updatedAt: date, expiresAt: date.addingTimeInterval(ttl))
    }

    static func stock(_ store: StoreHarness, _ id: String) async throws -> Int? {
        try await store.catalog.product(id: id)?.quantity
    }

    static func allPages<T>(_ fetch: (String?) async throws -> Page<T>) async throws -> [T] {
        var all: [T] = []
        var key: String?
        var pages = 0
        repeat {
            let page = try await fetch(key)
            all += page.items
            key = page.nextKey
            pages += 1
            #expect(pages < 10_000, "paging never ends")
        } while key != nil && pages < 10_000
        return all
    }
}
