import Foundation
import ShopDomain
import ShopStorage
import Testing

@testable import DynamoDBStore

/// The listings that span shards (docs/DYNAMODB.md, capacity model), on moto: every order, every order in a
/// status and the due orders are merged from all 16 shards in exactly the order one partition gave, page by
/// page; the keys-only catalog listings leave out what moved or vanished since the index saw it.
@Suite("DynamoDB sharded listings (moto)")
struct ShardedListingTests {
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    static func product(_ name: String, category: String = "home") -> Product {
        Product(
            id: Identifier.make(at: t0), name: name, description: "d", price: 100, currency: "USD", quantity: 1_000,
            category: category, version: 1, createdAt: t0, updatedAt: t0)
    }

    static func order(user: String, product: Product, at seconds: Double, ttl: Double = 900) -> Order {
        let date = t0.addingTimeInterval(seconds)
        return Order(
            id: Identifier.make(at: date), userId: user,
            lines: [OrderLine(productId: product.id, name: product.name, unitPrice: 100, quantity: 1)],
            total: 100, currency: "USD", status: .pendingPayment, createdAt: date, updatedAt: date, expiresAt: date.addingTimeInterval(ttl))
    }

    static func pages<T>(_ fetch: (String?) async throws -> Page<T>) async throws -> [T] {
        var all: [T] = []
        var key: String?
        repeat {
            let page = try await fetch(key)
            all += page.items
            key = page.nextKey
        } while key != nil
        return all
    }

    @Test func ordersAcrossEveryShardComeBackNewestFirstPageByPage() async throws {
        let store = try await Moto.freshStore()
        let p = Self.product("Mug")
        try await store.createProduct(p)
        var placed: [Order] = []
        // 48 orders of 12 users, several in the same millisecond (ties are broken by id, as in one partition).
        for i in 0..<48 {
            let o = Self.order(user: "user-\(i % 12)", product: p, at: Double(i / 3), ttl: Double(60 + (i * 7) % 50))
            _ = try await store.placeOrder(o, claim: nil, at: o.createdAt)
            placed.append(o)
        }
        let shards = Set(placed.map { DynamoDBStore.orderShard($0.id) })
        #expect(shards.count >= 12, "48 orders should land in most of the 16 shards, got \(shards.count)")

        let newestFirst = placed.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id)
        for limit in [1, 5, 7, 48, 100] {
            let all = try await Self.pages { try await store.listOrders(userId: nil, status: nil, limit: limit, after: $0) }
            #expect(all.map(\.id) == newestFirst, "every order, pages of \(limit)")
        }

        // Cancel a third of them: each status listing is exactly its orders, in the same order.
        let cancelled = Set(placed.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.id))
        for id in cancelled {
            _ = try await store.transitionOrder(
                id: id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: Self.t0.addingTimeInterval(100))
        }
        let byCancelled = try await Self.pages { try await store.listOrders(userId: nil, status: .cancelled, limit: 4, after: $0) }
        #expect(byCancelled.map(\.id) == newestFirst.filter(cancelled.contains))
        let byPending = try await Self.pages { try await store.listOrders(userId: nil, status: .pendingPayment, limit: 6, after: $0) }
        #expect(byPending.map(\.id) == newestFirst.filter { !cancelled.contains($0) })

        // Due orders: only pending ones past their expiry, soonest expiry first, across shards, capped at the limit.
        let now = Self.t0.addingTimeInterval(90)
        let due = placed.filter { !cancelled.contains($0.id) && $0.expiresAt <= now }.sorted { $0.expiresAt < $1.expiresAt }
        #expect(!due.isEmpty)
        let listedDue = try await store.dueOrders(now: now, limit: 100)
        #expect(Set(listedDue.map(\.id)) == Set(due.map(\.id)))
        #expect(listedDue.map(\.expiresAt) == due.map(\.expiresAt))
        let firstFew = try await store.dueOrders(now: now, limit: 3)
        #expect(firstFew.map(\.expiresAt) == Array(due.prefix(3)).map(\.expiresAt))
    }

    @Test func theKeysOnlyCatalogListingReadsProductsFromTheTable() async throws {
        let store = try await Moto.freshStore()
        var products: [Product] = []
        for i in 0..<9 {
            let p = Self.product("P\(i)", category: i % 2 == 0 ? "even" : "odd")
            try await store.createProduct(p)
            products.append(p)
        }
        let ids = products.map(\.id).sorted()
        let listed = try await Self.pages { try await store.listProducts(category: nil, limit: 4, after: $0) }
        #expect(listed.map(\.id) == ids)
        // Whole products, with the stock as the table has it now.
        _ = try await store.adjustStock(id: products[3].id, delta: -7, at: Self.t0.addingTimeInterval(1))
        let again = try await Self.pages { try await store.listProducts(category: nil, limit: 100, after: $0) }
        #expect(again.first { $0.id == products[3].id }?.quantity == 993)
        #expect(again.first { $0.id == products[3].id }?.name == "P3")
        let even = try await Self.pages { try await store.listProducts(category: "even", limit: 2, after: $0) }
        #expect(even.map(\.id) == products.enumerated().filter { $0.offset % 2 == 0 }.map(\.element.id).sorted())
        #expect(even.allSatisfy { $0.category == "even" })

        try await store.deleteProduct(id: products[0].id)
        let afterDelete = try await Self.pages { try await store.listProducts(category: nil, limit: 3, after: $0) }
        #expect(afterDelete.map(\.id) == ids.filter { $0 != products[0].id })
    }
}
