import Foundation
import HTTPTypes
import ShopDomain
import ShopStorage
import Testing

@testable import ShopAPI

/// A catalog whose backend is down, to see what a client is shown when storage fails.
struct BrokenCatalog: CatalogStore {
    static let secret = "disk I/O error at /var/lib/shop/secret-path.sqlite"
    func createProduct(_ product: Product) async throws(StorageError) { throw .backend(Self.secret) }
    func product(id: String) async throws(StorageError) -> Product? { throw .backend(Self.secret) }
    func products(ids: [String]) async throws(StorageError) -> [Product] { throw .backend(Self.secret) }
    func replaceProduct(_ edit: ProductEdit, at: Date) async throws(StorageError) -> Product { throw .backend(Self.secret) }
    func deleteProduct(id: String) async throws(StorageError) { throw .backend(Self.secret) }
    func setProductImage(id: String, variantId: String?, imageUrl: String, at: Date) async throws(StorageError) -> Product {
        throw .backend(Self.secret)
    }
    func adjustStock(id: String, variantId: String?, delta: Int, at: Date) async throws(StorageError) -> Product {
        throw .backend(Self.secret)
    }
    func listProducts(category: String?, limit: Int, after: String?) async throws(StorageError) -> Page<Product> {
        throw .backend(Self.secret)
    }
    func productCount() async throws(StorageError) -> Int { throw .backend(Self.secret) }
}

@Suite("Errors and envelope")
struct ErrorHandlingTests {
    @Test func healthAndRequestIds() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let health = try await c.send(.get, "/health")
            #expect(health.status == .ok)
            #expect(health.string("status") == "ok")
            let a = try await c.send(.get, "/health")
            #expect(a.headers[HTTPField.Name("X-Request-Id")!] != health.headers[HTTPField.Name("X-Request-Id")!])
            let echoed = try await c.send(.get, "/health", headers: [HTTPField.Name("X-Request-Id")!: "trace-42"])
            #expect(echoed.headers[HTTPField.Name("X-Request-Id")!] == "trace-42")
            let hostile = try await c.send(.get, "/health", headers: [HTTPField.Name("X-Request-Id")!: "bad id\twith space"])
            #expect(hostile.headers[HTTPField.Name("X-Request-Id")!] != "bad id\twith space")
            // A made id is a lower-case version 4 UUID, as the contract says.
            let made = try #require(health.headers[HTTPField.Name("X-Request-Id")!])
            let uuid = try #require(UUID(uuidString: made))
            #expect(uuid.uuidString.lowercased() == made)
            #expect(Array(made)[14] == "4" && "89ab".contains(Array(made)[19]))
        }
    }

    @Test func madeRequestIdsAreDistinctUUIDs() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RequestIds.next()
            #expect(id.count == 36 && id == id.lowercased() && UUID(uuidString: id) != nil)
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }

    @Test func unknownRoutesAndMethods() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let missing = try await c.send(.get, "/no/such/route")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "route_not_found")
            let wrongMethod = try await c.send(.patch, "/products")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.errorCode == "method_not_allowed")
            #expect(wrongMethod.headers[.allow] == "GET, POST")
            let wrongOnItem = try await c.send(.post, "/products/abc")
            #expect(wrongOnItem.status == .methodNotAllowed)
            #expect(wrongOnItem.headers[.allow] == "GET, PUT, DELETE")
            #expect(try await c.send(.delete, "/auth/login").status == .methodNotAllowed)
        }
    }

    @Test func oversizedAndMalformedBodies() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let huge = #"{"email":"a@example.com","password":"Passw0rd!","name":""# + String(repeating: "x", count: 1 << 20) + #""}"#
            let tooBig = try await c.send(.post, "/auth/register", json: huge)
            #expect(tooBig.status == .contentTooLarge)
            #expect(tooBig.errorCode == "payload_too_large")
            #expect(try await c.login("a@example.com", password: "Passw0rd!").status == .unauthorized, "nothing was registered")

            let malformed = try await c.send(.post, "/auth/login", json: "{not json")
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorCode == "invalid_json")
            let wrongShape = try await c.send(.post, "/auth/login", json: "[1,2]")
            #expect(wrongShape.status == .badRequest)
            let wrongType = try await c.send(.post, "/auth/login", json: #"{"email":1,"password":"x"}"#)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.errorMessage?.contains("email") == true)
        }
    }

    @Test func failuresNeverShowInternals() async throws {
        let shop = try await TestShop(catalog: BrokenCatalog())
        defer { shop.cleanUp() }
        try await shop.test { c in
            for path in ["/products", "/products/abc"] {
                let reply = try await c.send(.get, path)
                #expect(reply.status == .internalServerError)
                #expect(reply.errorCode == "internal_error")
                #expect(!reply.text.contains("secret-path"), "\(reply.text)")
                #expect(!reply.text.contains("I/O"))
            }
        }
    }
}

@Suite("JSON dates")
struct JSONDateTests {
    // Foundation's ISO 8601 style drops a millisecond on some dates, so the expected
    // strings are written out (checked against `date -u -d @SECONDS`).
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (999, "1970-01-01T00:00:00.999Z"),
        (86_399_999, "1970-01-01T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_780_000_000_123, "2026-05-28T20:26:40.123Z"),
        (4_102_444_800_000, "2100-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-86_400_001, "1969-12-30T23:59:59.999Z"),
    ])
    func iso8601(_ millis: Int64, _ expected: String) {
        #expect(JSONCoding.iso8601(Date(unixMillis: millis)) == expected)
    }
}
