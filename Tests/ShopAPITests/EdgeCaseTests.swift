import Foundation
import HTTPTypes
import ShopAPI
import Testing

/// Inputs at the edges that once crashed the process or slipped through.
@Suite("Edge cases")
struct EdgeCaseTests {
    @Test(arguments: ["-9223372036854775808", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1000001", "-1000001"])
    func stockDeltasAtTheIntegerEdgesAre400s(_ delta: String) async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let product = try await shop.product(quantity: 10)
            let reply = try await c.send(.post, "/products/\(product.id)/stock", token: admin.accessToken, json: #"{"delta":\#(delta)}"#)
            #expect(reply.status == .badRequest, "\(delta): \(reply.text)")
            #expect(try await shop.stock(product.id) == 10, "nothing changed")
            // And the server is still there to answer.
            #expect(try await c.send(.get, "/health").status == .ok)
        }
    }

    @Test(arguments: [
        #"{"name":"X","price":9223372036854775807,"category":"c","quantity":1}"#,
        #"{"name":"X","price":-9223372036854775808,"category":"c","quantity":1}"#,
        #"{"name":"X","price":100,"category":"c","quantity":-9223372036854775808}"#,
        #"{"name":"X","price":100,"category":"c","quantity":9223372036854775807}"#,
        #"{"name":"X","price":92233720368547758070,"category":"c"}"#,
    ])
    func productNumbersAtTheIntegerEdgesAre400s(_ body: String) async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let reply = try await c.send(.post, "/products", token: admin.accessToken, json: body)
            #expect(reply.status == .badRequest, "\(body): \(reply.text)")
        }
    }

    @Test(arguments: ["9223372036854775807", "-9223372036854775808", "0"])
    func orderQuantitiesAtTheIntegerEdgesAre400s(_ quantity: String) async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let shopper = try await c.shopper()
            let product = try await shop.product(quantity: 10)
            let reply = try await c.send(
                .post, "/orders", token: shopper.accessToken, json: #"{"lines":[{"productId":"\#(product.id)","quantity":\#(quantity)}]}"#)
            #expect(reply.status == .badRequest, "\(quantity): \(reply.text)")
            #expect(try await shop.stock(product.id) == 10)
        }
    }

    @Test(arguments: ["\\u0000Passw0rd!", "Passw0rd!\\u0000", "Pass\\u0007w0rd!", "Passw0rd!\\n"])
    func passwordsWithControlCharactersAreRefused(_ password: String) async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let reply = try await c.send(
                .post, "/auth/register", json: #"{"email":"nul@example.com","password":"\#(password)","name":"Nul"}"#)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "weak_password")
            // Above all: no account that the empty password opens.
            #expect(try await c.login("nul@example.com", password: "").status == .unauthorized)
        }
    }
}

/// Length limits hold in bytes as well as characters, on both backends.
@Suite("Byte limits")
struct ByteLimitTests {
    /// One character ("é" as e + combining marks) that weighs kilobytes.
    static let heavyCharacter = "e" + String(repeating: "\u{0301}", count: 1_000)

    @Test func heavyNamesAndCategoriesAre400s() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            for field in ["name", "category"] {
                var body: [String: Any] = ["name": "Lamp", "price": 100, "category": "home"]
                body[field] = Self.heavyCharacter
                let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
                let reply = try await c.send(.post, "/products", token: admin.accessToken, json: json)
                #expect(reply.status == .badRequest, "\(field)")
                #expect(((reply.errorDetails as? [[String: Any]])?.first)?["field"] as? String == field)
            }
            let register = String(
                decoding: try JSONSerialization.data(withJSONObject: [
                    "email": "heavy@example.com", "password": "Passw0rd!", "name": Self.heavyCharacter,
                ]), as: UTF8.self)
            #expect(try await c.send(.post, "/auth/register", json: register).errorCode == "validation_failed")
            let query = Self.heavyCharacter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            #expect(try await c.send(.get, "/products?category=\(query)").errorCode == "invalid_parameter")
        }
    }

    static let longId = String(repeating: "x", count: 3_000)

    static func longIdsAre400s(_ c: ShopClient, admin: Session) async throws {
        for (method, path) in [
            (HTTPRequest.Method.get, "/products/\(longId)"), (.put, "/products/\(longId)"), (.delete, "/products/\(longId)"),
            (.post, "/products/\(longId)/stock"), (.get, "/orders/\(longId)"), (.post, "/orders/\(longId)/cancel"),
        ] {
            let json = method == .put ? #"{"name":"X","price":1,"category":"c"}"# : method == .post ? #"{"delta":1}"# : nil
            let reply = try await c.send(method, path, token: admin.accessToken, json: json)
            #expect(reply.status == .badRequest, "\(method) \(path.prefix(20))…: \(reply.status)")
            #expect(reply.errorCode == "invalid_parameter")
        }
        let order = try await c.send(
            .post, "/orders", token: admin.accessToken, json: #"{"lines":[{"productId":"\#(longId)","quantity":1}]}"#)
        #expect(order.status == .badRequest)
        #expect(try await c.send(.post, "/payment", token: admin.accessToken, json: #"{"orderId":"\#(longId)"}"#).status == .badRequest)
    }

    @Test func longPathIdsAre400sOnSQLite() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in try await Self.longIdsAre400s(c, admin: try await shop.admin(c)) }
    }

    @Test func longPathIdsAre400sOnDynamoDB() async throws {
        try await ProxiedShop.run { shop, c in try await Self.longIdsAre400s(c, admin: try await shop.admin(c)) }
    }
}

/// Stock hoarding: a shopper cannot hold the catalogue in unpaid orders.
@Suite("Per-shopper order limits")
struct OrderLimitTests {
    @Test func openOrdersAndUnitsPerLineAreCapped() async throws {
        let shop = try await TestShop(limits: ["SHOP_MAX_OPEN_ORDERS": "3", "SHOP_MAX_UNITS_PER_LINE": "20"])
        defer { shop.cleanUp() }
        try await shop.test { c in
            let shopper = try await c.shopper()
            let product = try await shop.product(quantity: 1_000)
            let greedy = try await c.placeOrder([(product.id, 21)], token: shopper.accessToken)
            #expect(greedy.status == .badRequest)
            #expect(((greedy.errorDetails as? [[String: Any]])?.first)?["field"] as? String == "lines[0].quantity")
            var orders: [String] = []
            for i in 0..<3 {
                let placed = try await c.placeOrder([(product.id, 20)], token: shopper.accessToken, key: "k\(i)")
                #expect(placed.status == .created)
                orders.append(placed.string("id"))
            }
            let fourth = try await c.placeOrder([(product.id, 1)], token: shopper.accessToken)
            #expect(fourth.status == .conflict)
            #expect(fourth.errorCode == "too_many_open_orders")
            #expect((fourth.errorDetails as? [String: Any])?["limit"] as? Int == 3)
            #expect(try await shop.stock(product.id) == 940, "the refused order took nothing")
            let replay = try await c.placeOrder([(product.id, 20)], token: shopper.accessToken, key: "k0")
            #expect(replay.string("id") == orders[0], "a replay of an earlier order still answers with it")
            #expect(try await c.send(.post, "/orders/\(orders[0])/cancel", token: shopper.accessToken).status == .ok)
            #expect(try await c.placeOrder([(product.id, 1)], token: shopper.accessToken).status == .created, "a cancel frees a place")
            let other = try await c.shopper()
            #expect(try await c.placeOrder([(product.id, 1)], token: other.accessToken).status == .created, "per shopper")
        }
    }
}
