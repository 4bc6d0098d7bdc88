import Foundation
import HTTPTypes
import ShopAPI
import Testing

@Suite("Product routes")
struct ProductRoutesTests {
    static let lamp =
        #"{"name":"Desk lamp","description":"Warm light.","price":4500,"currency":"usd","category":"home","quantity":7,"colour":"ignored"}"#

    @Test func adminsCreateEditAndDelete() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let created = try await c.send(.post, "/products", token: admin.idToken, json: Self.lamp)
            #expect(created.status == .created)
            let id = created.string("id")
            #expect(created.headers[.location] == "/products/\(id)")
            #expect(created.string("currency") == "USD")
            #expect(created.int("quantity") == 7)
            #expect(created.int("version") == 1)
            #expect(created["imageUrl"] is NSNull, "imageUrl is present, null")
            #expect(created.string("createdAt").hasSuffix("Z"))

            let read = try await c.send(.get, "/products/\(id)")
            #expect(read.status == .ok)
            let tag1 = try #require(read.headers[.eTag])
            #expect(tag1.hasPrefix("\"v1-7-"), "version, quantity and update time: \(tag1)")
            #expect(read.string("name") == "Desk lamp")
            let cached = try await c.send(.get, "/products/\(id)", headers: [.ifNoneMatch: tag1])
            #expect(cached.status == .notModified)
            #expect(cached.headers[.eTag] == tag1)
            // If-None-Match compares weakly (RFC 9110, 13.1.2): a proxy that re-encodes marks the tag W/.
            let weak = try await c.send(.get, "/products/\(id)", headers: [.ifNoneMatch: "W/\(tag1)"])
            #expect(weak.status == .notModified && weak.text.isEmpty && weak.headers[.eTag] == tag1)
            #expect(try await c.send(.get, "/products/\(id)", headers: [.ifNoneMatch: "W/\"v1-7\""]).status == .ok)
            // `*` matches any current representation (RFC 9110, 13.1.2): a product, a page; a missing product stays 404.
            let any = try await c.send(.get, "/products/\(id)", headers: [.ifNoneMatch: "*"])
            #expect(any.status == .notModified && any.headers[.eTag] == tag1)
            let anyPage = try await c.send(.get, "/products?limit=5", headers: [.ifNoneMatch: "*"])
            #expect(anyPage.status == .notModified && anyPage.headers[.eTag] != nil)
            #expect(
                try await c.send(.get, "/products/0193a1b2-0000-7000-8000-00000000ffff", headers: [.ifNoneMatch: "*"]).status == .notFound)

            let edit = #"{"name":"Oak desk lamp","description":"","price":5200,"currency":"USD","category":"home","quantity":999}"#
            let stale = try await c.send(.put, "/products/\(id)", token: admin.accessToken, json: edit, headers: [.ifMatch: "\"v7\""])
            #expect(stale.status == .preconditionFailed)
            #expect(stale.errorCode == "precondition_failed")
            let garbled = try await c.send(.put, "/products/\(id)", token: admin.accessToken, json: edit, headers: [.ifMatch: "nonsense"])
            #expect(garbled.status == .preconditionFailed)
            #expect(try await c.send(.get, "/products/\(id)").string("name") == "Desk lamp", "a refused edit changes nothing")

            let updated = try await c.send(.put, "/products/\(id)", token: admin.accessToken, json: edit, headers: [.ifMatch: "\"v1\""])
            #expect(updated.status == .ok)
            #expect(updated.string("name") == "Oak desk lamp")
            #expect(updated.int("price") == 5200)
            #expect(updated.int("version") == 2)
            #expect(updated.int("quantity") == 7, "PUT does not touch stock")
            #expect(updated.headers[.eTag]?.hasPrefix("\"v2-7-") == true)
            let again = try await c.send(.put, "/products/\(id)", token: admin.accessToken, json: edit)
            #expect(again.int("version") == 3, "without If-Match the edit applies")

            let missing = try await c.send(.put, "/products/nope", token: admin.accessToken, json: edit)
            #expect(missing.status == .notFound)

            #expect(try await c.send(.delete, "/products/\(id)", token: admin.accessToken).status == .noContent)
            let gone = try await c.send(.get, "/products/\(id)")
            #expect(gone.status == .notFound)
            #expect(gone.errorCode == "not_found")
            #expect(try await c.send(.delete, "/products/\(id)", token: admin.accessToken).status == .notFound)
        }
    }

    @Test func writesAreForAdminsOnly() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let product = try await shop.product()
        try await shop.test { c in
            let user = try await c.shopper()
            let attempts: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/products", Self.lamp),
                (.put, "/products/\(product.id)", Self.lamp),
                (.delete, "/products/\(product.id)", nil),
                (.post, "/products/\(product.id)/stock", #"{"delta":5}"#),
            ]
            for (method, path, body) in attempts {
                let anonymous = try await c.send(method, path, json: body)
                #expect(anonymous.status == .unauthorized, "\(method) \(path)")
                let shopper = try await c.send(method, path, token: user.idToken, json: body)
                #expect(shopper.status == .forbidden, "\(method) \(path)")
                #expect(shopper.errorCode == "forbidden")
            }
            let after = try #require(try await shop.store.product(id: product.id))
            #expect(after == product, "refused writes change nothing")
            #expect(try await shop.store.productCount() == 1)
        }
    }

    @Test func validation() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let cases: [(String, String)] = [
                (#"{"name":"","price":100,"category":"x"}"#, "name"),
                (#"{"name":"\#(String(repeating: "n", count: 201))","price":100,"category":"x"}"#, "name"),
                (#"{"name":"Ok","description":"\#(String(repeating: "d", count: 5001))","price":100,"category":"x"}"#, "description"),
                (#"{"name":"Ok","price":0,"category":"x"}"#, "price"),
                (#"{"name":"Ok","price":100000001,"category":"x"}"#, "price"),
                (#"{"name":"Ok","price":100,"currency":"DOLLARS","category":"x"}"#, "currency"),
                (#"{"name":"Ok","price":100,"category":""}"#, "category"),
                (#"{"name":"Ok","price":100,"category":"x","quantity":-1}"#, "quantity"),
                (#"{"name":"Ok","price":100,"category":"x","quantity":1000001}"#, "quantity"),
            ]
            for (body, field) in cases {
                let reply = try await c.send(.post, "/products", token: admin.idToken, json: body)
                #expect(reply.status == .badRequest, "\(field)")
                #expect(reply.errorCode == "validation_failed", "\(field)")
                let details = reply.errorDetails as? [[String: Any]] ?? []
                #expect(details.contains { $0["field"] as? String == field }, "\(field): \(reply.text)")
            }
            let wrongType = try await c.send(
                .post, "/products", token: admin.idToken, json: #"{"name":"Ok","price":"12.50","category":"x"}"#)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.errorCode == "invalid_body")
            #expect(wrongType.errorMessage?.contains("price") == true)
            let float = try await c.send(.post, "/products", token: admin.idToken, json: #"{"name":"Ok","price":12.5,"category":"x"}"#)
            #expect(float.status == .badRequest, "money is never a floating-point number")
            let missing = try await c.send(.post, "/products", token: admin.idToken, json: #"{"name":"Ok","category":"x"}"#)
            #expect(missing.errorMessage?.contains("price") == true)
            #expect(try await shop.store.productCount() == 0, "nothing was created")
        }
    }

    @Test func stockMovesAtomically() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let product = try await shop.product(quantity: 3)
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let path = "/products/\(product.id)/stock"
            let added = try await c.send(.post, path, token: admin.idToken, json: #"{"delta":5}"#)
            #expect(added.status == .ok)
            #expect(added.int("quantity") == 8)
            let removed = try await c.send(.post, path, token: admin.idToken, json: #"{"delta":-8}"#)
            #expect(removed.int("quantity") == 0)
            let below = try await c.send(.post, path, token: admin.idToken, json: #"{"delta":-1}"#)
            #expect(below.status == .conflict)
            #expect(below.errorCode == "insufficient_stock")
            #expect((below.errorDetails as? [String: Any])?["available"] as? Int == 0)
            let zero = try await c.send(.post, path, token: admin.idToken, json: #"{"delta":0}"#)
            #expect(zero.status == .badRequest)
            let huge = try await c.send(.post, path, token: admin.idToken, json: #"{"delta":1000001}"#)
            #expect(huge.status == .badRequest)
            let unknown = try await c.send(.post, "/products/nope/stock", token: admin.idToken, json: #"{"delta":1}"#)
            #expect(unknown.status == .notFound)
            #expect(try await shop.stock(product.id) == 0)
        }
    }

    @Test func listingPagesWithOpaqueCursors() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        var made: Set<String> = []
        for i in 0..<25 {
            made.insert(try await shop.product("Item \(i)", category: i % 5 == 0 ? "books" : "pantry").id)
            shop.clock.advance(by: 0.001)
        }
        let ids = made
        try await shop.test { c in
            let first = try await c.send(.get, "/products")
            #expect(first.status == .ok)
            #expect(first.items.count == 20, "default page size")
            let cursor = try #require(first["nextCursor"] as? String)
            #expect(!cursor.contains(first.items.last?["id"] as? String ?? "-"), "the cursor is opaque")

            var seen: [String] = []
            var next: String? = nil
            repeat {
                let uri = "/products?limit=7" + (next.map { "&cursor=\($0)" } ?? "")
                let page = try await c.send(.get, uri)
                #expect(page.status == .ok)
                seen += page.items.compactMap { $0["id"] as? String }
                next = page["nextCursor"] as? String
                // A product added mid-listing never makes an existing one appear twice or vanish.
                _ = try await shop.product("Late arrival")
            } while next != nil && seen.count < 200
            #expect(Set(seen).count == seen.count)
            #expect(ids.isSubset(of: Set(seen)))

            let books = try await c.send(.get, "/products?category=books&limit=100")
            #expect(books.items.count == 5)
            #expect(books.items.allSatisfy { $0["category"] as? String == "books" })
            #expect(books["nextCursor"] is NSNull, "the last page says nextCursor: null")

            for bad in ["limit=0", "limit=101", "limit=abc", "cursor=garbage", "cursor=\(cursor)x"] {
                let reply = try await c.send(.get, "/products?\(bad)")
                #expect(reply.status == .badRequest, "\(bad)")
            }
            // A cursor from one listing does not open another.
            let other = try await c.send(.get, "/products?category=books&cursor=\(cursor)")
            #expect(other.status == .badRequest)
            #expect(other.errorCode == "invalid_cursor")
        }
    }

    @Test func stockMovesChangeTheETag() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let shopper = try await c.shopper()
            let product = try await shop.product("Kettle", quantity: 10)
            let first = try await c.send(.get, "/products/\(product.id)")
            let tag = try #require(first.headers[.eTag])

            // An admin's stock adjustment: the version stays (an edit's If-Match still holds), the tag moves.
            shop.clock.advance(by: 1)
            let adjusted = try await c.send(.post, "/products/\(product.id)/stock", token: admin.accessToken, json: #"{"delta":5}"#)
            #expect(adjusted.int("version") == first.int("version"))
            #expect(adjusted.headers[.eTag] != tag)
            let revalidated = try await c.send(.get, "/products/\(product.id)", headers: [.ifNoneMatch: tag])
            #expect(revalidated.status == .ok, "a cached copy with the old stock is not fresh")
            #expect(revalidated.int("quantity") == 15)
            let tag2 = try #require(revalidated.headers[.eTag])
            #expect(try await c.send(.get, "/products/\(product.id)", headers: [.ifNoneMatch: tag2]).status == .notModified)

            // A sale moves only the quantity: the tag moves too.
            #expect(try await c.placeOrder([(product.id, 2)], token: shopper.accessToken).status == .created)
            let afterSale = try await c.send(.get, "/products/\(product.id)", headers: [.ifNoneMatch: tag2])
            #expect(afterSale.status == .ok)
            #expect(afterSale.int("quantity") == 13)

            // The edit version is still what If-Match checks.
            let edit = #"{"name":"Steel kettle","price":2500,"category":"kitchen"}"#
            let edited = try await c.send(
                .put, "/products/\(product.id)", token: admin.accessToken, json: edit,
                headers: [.ifMatch: try #require(afterSale.headers[.eTag])])
            #expect(edited.status == .ok)
        }
    }

    @Test func aPageRevalidatesWith304UntilAProductOnItChanges() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let shopper = try await c.shopper()
            try await shop.product("Kettle", quantity: 10)
            try await shop.product("Mug", quantity: 10)
            let first = try await c.send(.get, "/products?limit=1")
            let tag = try #require(first.headers[.eTag])
            let onPage = try #require(first.items.first?["id"] as? String)
            let cached = try await c.send(.get, "/products?limit=1", headers: [.ifNoneMatch: "\"nope\", \(tag)"])
            #expect(cached.status == .notModified && cached.text.isEmpty && cached.headers[.eTag] == tag)
            #expect(try await c.send(.get, "/products?limit=1", headers: [.ifNoneMatch: "W/\"nope\", W/\(tag)"]).status == .notModified)
            // Another page (or filter) has another tag.
            #expect(try await c.send(.get, "/products?limit=2").headers[.eTag] != tag)
            #expect(try await c.send(.get, "/products?limit=1&category=none", headers: [.ifNoneMatch: tag]).status == .ok)

            // A sale of the product on the page changes the page.
            #expect(try await c.placeOrder([(onPage, 1)], token: shopper.accessToken).status == .created)
            let after = try await c.send(.get, "/products?limit=1", headers: [.ifNoneMatch: tag])
            #expect(after.status == .ok && after.items.first?["quantity"] as? Int == 9)
            #expect(after.headers[.eTag] != tag)
        }
    }
}
