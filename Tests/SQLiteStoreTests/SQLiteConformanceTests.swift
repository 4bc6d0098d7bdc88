import Foundation
import GRDB
import ShopDomain
import ShopStorage
import StorageTestKit
import Testing

@testable import SQLiteStore

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("shop-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("SQLite store conformance")
struct SQLiteConformanceTests {
    @Test(arguments: StorageConformance.cases)
    func conformance(_ testCase: StorageConformance.Case) async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        try await testCase.run(StoreHarness(store))
    }

    /// v7-variants: a product written before variants reads, sells and restocks as before, as its default variant.
    @Test func productsFromBeforeVariantsBecomeOnesWithADefaultVariant() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = try DatabaseQueue(path: dir + "/shop.sqlite")
        try SQLiteStore.migrator.migrate(old, upTo: "v6-outbox")
        try await old.write { db in
            for (id, name) in [("old-1", "Old lamp"), ("old-2", "Old lamp")] {
                try db.execute(
                    sql: """
                        INSERT INTO products (id, name, description, price, currency, quantity, category, image_url, version, created_at, updated_at)
                        VALUES (?, ?, 'd', 4500, 'USD', 7, 'home', 'https://img.example/lamp.png', 3, 0, 0)
                        """,
                    arguments: [id, name])
            }
        }
        try old.close()
        let store = try SQLiteStore(directory: dir)
        let product = try #require(try await store.product(id: "old-1"))
        #expect(product.options.isEmpty && product.variants.map(\.id) == ["old-1"] && product.variants[0].options.isEmpty)
        #expect(
            product.price == 4_500 && product.quantity == 7 && product.imageUrl == "https://img.example/lamp.png" && product.version == 3)
        #expect(SKU.isValid(product.variants[0].sku))
        // Two products of one name still get SKUs of their own.
        let twin = try #require(try await store.product(id: "old-2"))
        #expect(SKU.key(twin.variants[0].sku) != SKU.key(product.variants[0].sku))
        // An order line without a variant names the default one; it sells, and a cancel returns it.
        let order = Order(
            id: "order-1", userId: "u", lines: [OrderLine(productId: "old-1", name: "Old lamp", unitPrice: 4_500, quantity: 2)],
            total: 9_000,
            currency: "USD", status: .pendingPayment, createdAt: Date(), updatedAt: Date(), expiresAt: Date().addingTimeInterval(900))
        _ = try await store.placeOrder(order, claim: nil, at: Date())
        #expect(try await store.product(id: "old-1")?.quantity == 5)
        #expect(try await store.adjustStock(id: "old-1", delta: 10, at: Date()).quantity == 15)
        _ = try await store.transitionOrder(id: "order-1", from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: Date())
        #expect(try await store.product(id: "old-1")?.variants[0].quantity == 17)
    }

    @Test func usesWriteAheadLogging() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        #expect(try await store.journalMode() == "wal")
        #expect(FileManager.default.fileExists(atPath: dir + "/shop.sqlite"))
    }

    @Test func reopeningKeepsData() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try SQLiteStore(directory: dir)
        let p: String? = try await seedOne(first)
        let second = try SQLiteStore(directory: dir)
        #expect(try await second.product(id: p!) != nil)
    }

    /// Catalog reads run on connections of their own (ProductReads): they must see what another store on the
    /// same file (as `shop` commands run beside `shop serve`) committed, at once and whole.
    @Test func readsSeeWritesFromAnotherConnectionAtOnce() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let serving = try SQLiteStore(directory: dir)
        let other = try SQLiteStore(directory: dir)
        let id = try await seedOne(other)
        #expect(try await serving.product(id: id)?.quantity == 1)
        for step in 1...20 {
            let now = Date(timeIntervalSince1970: 1_780_000_000 + Double(step))
            let written = try await other.adjustStock(id: id, delta: 1, at: now)
            let read = try #require(try await serving.product(id: id))
            #expect(read.quantity == written.quantity)
            #expect(try await serving.products(ids: [id]).first?.quantity == written.quantity)
            #expect(try await serving.listProducts(category: nil, limit: 5, after: nil).items.first?.quantity == written.quantity)
        }
        try await other.deleteProduct(id: id)
        #expect(try await serving.product(id: id) == nil)
    }

    /// Readers racing a writer: each read is one whole committed state (name and quantity move together), and
    /// states never go backwards for a reader.
    @Test func concurrentReadsSeeWholeCommittedStates() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        let id = try await seedOne(store)
        let rounds = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for step in 1...rounds {
                    let now = Date(timeIntervalSince1970: 1_780_000_000 + Double(step))
                    _ = try await store.adjustStock(id: id, delta: 1, at: now)
                    _ = try await store.updateProduct(
                        id: id,
                        fields: ProductFields(
                            name: "Tea \(step + 1) ✓ \"quoted\"", description: "", price: 100, currency: "USD", category: "food"),
                        expectedVersion: nil, at: now)
                }
            }
            for _ in 0..<4 {
                group.addTask {
                    var last = 0
                    for _ in 0..<(rounds * 2) {
                        let product = try #require(try await store.product(id: id))
                        #expect(product.version >= last)
                        last = product.version
                        // adjustStock leaves the version alone; updateProduct bumps it: quantity runs at most one ahead.
                        let named = product.version == 1 ? 1 : Int(product.name.split(separator: " ")[1])!
                        #expect(product.quantity == named || product.quantity == named + 1, "\(product)")
                        #expect(product.version == 1 || product.name.hasSuffix("✓ \"quoted\""))
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try #require(try await store.product(id: id))
        #expect(final.quantity == rounds + 1)
        #expect(final.version == rounds + 1)
    }

    /// Counting a shopper's open orders (each order placed does it) reads the index for that shopper and status,
    /// not every order the shopper ever placed.
    @Test func openOrderCountUsesItsIndex() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        let plan = try await store.queryPlan(SQLiteStore.openOrderCount, arguments: ["u1", "PENDING_PAYMENT"])
        #expect(plan == ["SEARCH orders USING COVERING INDEX orders_by_user_status (user_id=? AND status=?)"])
    }

    /// Each sign-in drops expired refresh tokens: through the expiry index, not a scan of every token ever issued.
    @Test func expiredRefreshTokenCleanupUsesItsIndex() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        let plan = try await store.queryPlan(SQLiteStore.expiredRefreshTokens, arguments: [0])
        #expect(plan == ["SEARCH refresh_tokens USING INDEX refresh_tokens_by_expiry (expires_at<?)"])
    }

    func seedOne(_ store: SQLiteStore) async throws -> String {
        let now = Date(timeIntervalSince1970: 1_780_000_000)
        let product = Product(
            id: Identifier.make(at: now), name: "Tea", description: "", price: 100, currency: "USD",
            quantity: 1, category: "food", createdAt: now, updatedAt: now)
        try await store.createProduct(product)
        return product.id
    }
}
