import Foundation
import SQLiteStore
import ShopDomain
import ShopStorage
import StorageTestKit
import Testing

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
        try await testCase.run(StoreHarness(catalog: store, orders: store, users: store))
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

    func seedOne(_ store: SQLiteStore) async throws -> String {
        let now = Date(timeIntervalSince1970: 1_780_000_000)
        let product = Product(
            id: Identifier.make(at: now), name: "Tea", description: "", price: 100, currency: "USD",
            quantity: 1, category: "food", createdAt: now, updatedAt: now)
        try await store.createProduct(product)
        return product.id
    }
}
