import Foundation
import HTTPTypes
import ShopAPI
import ShopDomain
import Testing

@Suite("Order routes")
struct OrderRoutesTests {
    @Test func placingAnOrderPricesFromTheCatalogAndTakesStock() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let tea = try await shop.product("Tea", price: 450, quantity: 10)
        let cups = try await shop.product("Cups", price: 1_299, quantity: 4)
        try await shop.test { c in
            let user = try await c.shopper()
            // The client's price and total are ignored.
            let body =
                #"{"lines":[{"productId":"\#(tea.id)","quantity":3,"unitPrice":1},{"productId":"\#(cups.id)","quantity":2}],"total":1,"#
                + #""shippingAddress":\#(TestShop.oregonJSON),"shippingMethodId":"standard"}"#
            let placed = try await c.send(.post, "/orders", token: user.accessToken, json: body)
            #expect(placed.status == .created)
            let id = placed.string("id")
            #expect(placed.headers[.location] == "/orders/\(id)")
            #expect(placed.string("status") == "PENDING_PAYMENT")
            #expect(placed.string("userId") == user.userId)
            #expect(placed.int("subtotal") == 3 * 450 + 2 * 1_299)
            #expect(placed.int("shippingTotal") == 500, "standard shipping, under the free-shipping threshold")
            #expect(placed.int("taxTotal") == 0, "no sales tax in Oregon")
            #expect(placed.int("total") == 3 * 450 + 2 * 1_299 + 500)
            #expect(placed.string("currency") == "USD")
            let lines = placed["lines"] as? [[String: Any]] ?? []
            #expect(lines.count == 2)
            #expect(lines.first?["unitPrice"] as? Int == 450)
            #expect(lines.first?["lineTotal"] as? Int == 1_350)
            #expect(lines.first?["name"] as? String == "Tea")
            let expires = placed.string("expiresAt")
            let created = placed.string("createdAt")
            #expect(expires > created)
            #expect(try await shop.stock(tea.id) == 7)
            #expect(try await shop.stock(cups.id) == 2)

            // Prices are frozen into the order: a later price change does not alter it.
            _ = try await shop.services.catalog.update(
                id: tea.id, fields: ProductFields(name: "Tea", description: "", price: 999, currency: "USD", category: "pantry"),
                expectedVersion: nil)
            let read = try await c.send(.get, "/orders/\(id)", token: user.idToken)
            #expect(read.status == .ok)
            #expect(read.int("total") == 3 * 450 + 2 * 1_299 + 500)
        }
    }

    @Test func shortStockIsAConflictThatTakesNothing() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let plenty = try await shop.product("Plenty", quantity: 100)
        let few = try await shop.product("Few", quantity: 2)
        let none = try await shop.product("None", quantity: 0)
        try await shop.test { c in
            let user = try await c.shopper()
            let reply = try await c.placeOrder([(plenty.id, 5), (few.id, 3), (none.id, 1)], token: user.idToken)
            #expect(reply.status == .conflict)
            #expect(reply.errorCode == "out_of_stock")
            let details = reply.errorDetails as? [[String: Any]] ?? []
            #expect(details.count == 2)
            #expect(
                details.contains { $0["productId"] as? String == few.id && $0["requested"] as? Int == 3 && $0["available"] as? Int == 2 })
            #expect(
                details.contains { $0["productId"] as? String == none.id && $0["requested"] as? Int == 1 && $0["available"] as? Int == 0 })
            #expect(try await shop.stock(plenty.id) == 100)
            #expect(try await shop.stock(few.id) == 2)
            #expect(try await c.send(.get, "/orders", token: user.idToken).items.isEmpty)

            let unknown = try await c.placeOrder([(plenty.id, 1), ("no-such-product", 1)], token: user.idToken)
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "product_not_found")
            #expect(try await shop.stock(plenty.id) == 100)
        }
    }

    @Test func orderValidation() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let p = try await shop.product(quantity: 1_000_000)
        let euro = try await shop.product("Croissant", currency: "EUR")
        try await shop.test { c in
            let user = try await c.shopper()
            #expect(try await c.send(.post, "/orders", json: #"{"lines":[]}"#).status == .unauthorized)
            let bad: [(String, String)] = [
                (#"{"lines":[]}"#, "validation_failed"),
                (#"{"lines":[{"productId":"\#(p.id)","quantity":0}]}"#, "validation_failed"),
                (#"{"lines":[{"productId":"\#(p.id)","quantity":1001}]}"#, "validation_failed"),
                (#"{"lines":[{"productId":"\#(p.id)","quantity":1},{"productId":"\#(p.id)","quantity":2}]}"#, "validation_failed"),
                (#"{"lines":[{"productId":"\#(p.id)","quantity":1}]}"#, "validation_failed"),
                (
                    #"{"lines":[{"productId":"\#(p.id)","quantity":1},{"productId":"\#(euro.id)","quantity":1}],"shippingAddress":\#(TestShop.oregonJSON),"shippingMethodId":"standard"}"#,
                    "unsupported_currency"
                ),
                (#"{"lines":[{"productId":"\#(p.id)","quantity":"2"}]}"#, "invalid_body"),
                (#"{"lines":{"productId":"x"}}"#, "invalid_body"),
                (#"{"lines":[{"productId":"\#(p.id)","quantity":1}"#, "invalid_json"),
                ("", "invalid_json"),
            ]
            for (body, code) in bad {
                let reply = try await c.send(.post, "/orders", token: user.idToken, json: body)
                #expect(reply.status == .badRequest, "\(body)")
                #expect(reply.errorCode == code, "\(body): \(reply.text)")
            }
            let many = "{\"lines\":[" + (0..<51).map { #"{"productId":"p\#($0)","quantity":1}"# }.joined(separator: ",") + "]}"
            #expect(try await c.send(.post, "/orders", token: user.idToken, json: many).errorCode == "validation_failed")
            #expect(try await shop.stock(p.id) == 1_000_000, "no refused order took stock")
        }
    }

    @Test func idempotencyKeys() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let p = try await shop.product(quantity: 10)
        let q = try await shop.product(quantity: 10)
        try await shop.test { c in
            var user = try await c.shopper("idem@example.com")
            let first = try await c.placeOrder([(p.id, 2)], token: user.idToken, key: "order-123")
            #expect(first.status == .created)
            // The same body, spaced differently, is the same request.
            let again = try await c.send(
                .post, "/orders", token: user.idToken,
                json:
                    #"{ "shippingMethodId": "standard", "lines" : [ { "quantity": 2, "productId": "\#(p.id)" } ], "shippingAddress": { "country": "US", "postalCode": "97201", "region": "OR", "city": "Portland", "line1": "1 Main St", "name": "Ada Lovelace" } }"#,
                headers: [HTTPField.Name("Idempotency-Key")!: "order-123"])
            #expect(again.status == .created)
            #expect(again.string("id") == first.string("id"))
            #expect(try await shop.stock(p.id) == 8, "stock taken once")
            // The fingerprint covers the address and the method: the same lines sent elsewhere or another way are another request.
            let express = try await c.placeOrder([(p.id, 2)], token: user.idToken, key: "order-123", method: "express")
            #expect(express.status == .unprocessableContent)
            #expect(express.errorCode == "idempotency_key_reused")
            let elsewhere = try await c.send(
                .post, "/orders", token: user.idToken,
                json:
                    #"{"lines":[{"productId":"\#(p.id)","quantity":2}],"shippingMethodId":"standard","shippingAddress":{"name":"Ada Lovelace","line1":"9 Elm St","city":"Portland","region":"OR","postalCode":"97201","country":"US"}}"#,
                headers: [HTTPField.Name("Idempotency-Key")!: "order-123"])
            #expect(elsewhere.errorCode == "idempotency_key_reused")
            #expect(try await shop.stock(p.id) == 8)

            let different = try await c.placeOrder([(q.id, 1)], token: user.idToken, key: "order-123")
            #expect(different.status == .unprocessableContent)
            #expect(different.errorCode == "idempotency_key_reused")
            #expect(try await shop.stock(q.id) == 10)

            // Keys are per user.
            let other = try await c.shopper()
            let theirs = try await c.placeOrder([(p.id, 2)], token: other.idToken, key: "order-123")
            #expect(theirs.status == .created)
            #expect(theirs.string("id") != first.string("id"))

            // Kept for 24 hours, then free again.
            shop.clock.advance(by: 23 * 3600)
            user = try await c.session("idem@example.com")
            #expect(try await c.placeOrder([(p.id, 2)], token: user.idToken, key: "order-123").string("id") == first.string("id"))
            shop.clock.advance(by: 2 * 3600)
            user = try await c.session("idem@example.com")
            _ = try await shop.services.orders.expireDue()
            let fresh = try await c.placeOrder([(p.id, 2)], token: user.idToken, key: "order-123")
            #expect(fresh.status == .created)
            #expect(fresh.string("id") != first.string("id"))

            let tooLong = try await c.placeOrder([(p.id, 1)], token: user.idToken, key: String(repeating: "k", count: 256))
            #expect(tooLong.status == .badRequest)
            #expect(tooLong.errorCode == "invalid_idempotency_key")
        }
    }

    /// A replay is looked up before anything is priced: it answers the original order after its product was deleted
    /// or repriced in another currency, where pricing the body again would answer 404 or 400.
    @Test func aReplayAnswersTheOriginalOrderWhateverTheCatalogBecame() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let gone = try await shop.product("Gone", quantity: 10)
        let repriced = try await shop.product("Repriced", quantity: 10)
        try await shop.test { c in
            let user = try await c.shopper()
            let first = try await c.placeOrder([(gone.id, 1), (repriced.id, 2)], token: user.idToken, key: "replay-1")
            #expect(first.status == .created)
            try await shop.services.catalog.delete(id: gone.id)
            _ = try await shop.services.catalog.update(
                id: repriced.id, fields: ProductFields(name: "Repriced", description: "", price: 999, currency: "EUR", category: "pantry"),
                expectedVersion: nil)
            let replay = try await c.placeOrder([(gone.id, 1), (repriced.id, 2)], token: user.idToken, key: "replay-1")
            #expect(replay.status == .created, "\(replay.text)")
            #expect(replay.string("id") == first.string("id"))
            #expect(replay.int("total") == first.int("total"), "the original prices")
            #expect(try await shop.stock(repriced.id) == 8, "no stock taken again")
            // The same key with another body is still refused, before pricing too.
            let other = try await c.placeOrder([(repriced.id, 1)], token: user.idToken, key: "replay-1")
            #expect(other.status == .unprocessableContent)
            #expect(other.errorCode == "idempotency_key_reused")
        }
    }

    /// Stripe takes at most 99,999,999 minor units in one payment: a larger order is refused when placed, taking no stock.
    @Test func anOrderNoPaymentCouldTakeIsRefused() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let dear = try await shop.product("Dear", price: 100_000_000, quantity: 10)
        let fair = try await shop.product("Fair", price: 99_999_999, quantity: 10)
        try await shop.test { c in
            let user = try await c.shopper()
            let refused = try await c.placeOrder([(dear.id, 1)], token: user.idToken)
            #expect(refused.status == .badRequest)
            #expect(refused.errorCode == "total_too_large")
            #expect(try await shop.stock(dear.id) == 10, "no stock taken")
            let twice = try await c.placeOrder([(fair.id, 2)], token: user.idToken)
            #expect(twice.errorCode == "total_too_large", "the total counts, not the unit price")
            #expect(try await shop.stock(fair.id) == 10)
            let most = try await c.placeOrder([(fair.id, 1)], token: user.idToken)
            #expect(most.status == .created, "exactly the limit is fine")
            #expect(most.int("total") == 99_999_999)
        }
    }

    @Test func usersSeeOnlyTheirOwnOrders() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let p = try await shop.product(quantity: 100)
        try await shop.test { c in
            let ann = try await c.shopper()
            let ben = try await c.shopper()
            let admin = try await shop.admin(c)
            var annOrders: [String] = []
            for _ in 0..<5 {
                annOrders.append(try await c.placeOrder([(p.id, 1)], token: ann.idToken).string("id"))
                shop.clock.advance(by: 1)
            }
            let benOrder = try await c.placeOrder([(p.id, 1)], token: ben.idToken).string("id")

            var listed: [String] = []
            var cursor: String? = nil
            repeat {
                let page = try await c.send(.get, "/orders?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: ann.idToken)
                #expect(page.status == .ok)
                listed += page.items.compactMap { $0["id"] as? String }
                cursor = page["nextCursor"] as? String
            } while cursor != nil && listed.count < 20
            #expect(listed == annOrders.reversed(), "newest first, each once")

            let benView = try await c.send(.get, "/orders", token: ben.idToken)
            #expect(benView.items.compactMap { $0["id"] as? String } == [benOrder])
            let peek = try await c.send(.get, "/orders/\(annOrders[0])", token: ben.idToken)
            #expect(peek.status == .notFound, "someone else's order looks like no order")
            #expect(try await c.send(.post, "/orders/\(annOrders[0])/cancel", token: ben.idToken).status == .notFound)

            // A cursor from Ann's listing does not page Ben's.
            let annPage = try await c.send(.get, "/orders?limit=1", token: ann.idToken)
            let stolen = try await c.send(.get, "/orders?limit=1&cursor=\(annPage.string("nextCursor"))", token: ben.idToken)
            #expect(stolen.status == .badRequest)
            #expect(stolen.errorCode == "invalid_cursor")

            #expect(try await c.send(.get, "/orders?all=true", token: ann.idToken).status == .forbidden)
            let all = try await c.send(.get, "/orders?all=true&limit=100", token: admin.idToken)
            #expect(all.items.count == 6)
            #expect(try await c.send(.get, "/orders/\(annOrders[0])", token: admin.idToken).status == .ok)
            _ = try await c.send(.post, "/orders/\(annOrders[1])/cancel", token: ann.idToken)
            let cancelled = try await c.send(.get, "/orders?all=true&status=CANCELLED", token: admin.idToken)
            #expect(cancelled.items.compactMap { $0["id"] as? String } == [annOrders[1]])
            let mineCancelled = try await c.send(.get, "/orders?status=CANCELLED", token: ben.idToken)
            #expect(mineCancelled.items.isEmpty)
            #expect(try await c.send(.get, "/orders?status=LOST", token: admin.idToken).status == .badRequest)
            #expect(try await c.send(.get, "/orders?all=maybe", token: admin.idToken).status == .badRequest)
            #expect(try await c.send(.get, "/orders").status == .unauthorized)
        }
    }

    @Test func cancellingAndFulfilling() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let p = try await shop.product(quantity: 10)
        try await shop.test { c in
            let user = try await c.shopper()
            let admin = try await shop.admin(c)
            let order = try await c.placeOrder([(p.id, 4)], token: user.idToken).string("id")
            #expect(try await shop.stock(p.id) == 6)

            let fulfilByUser = try await c.send(.post, "/orders/\(order)/fulfil", token: user.idToken)
            #expect(fulfilByUser.status == .forbidden)
            let fulfilUnpaid = try await c.send(.post, "/orders/\(order)/fulfil", token: admin.idToken)
            #expect(fulfilUnpaid.status == .conflict, "only a PAID order can be fulfilled")
            #expect(fulfilUnpaid.errorCode == "invalid_transition")

            let cancelled = try await c.send(.post, "/orders/\(order)/cancel", token: user.idToken)
            #expect(cancelled.status == .ok)
            #expect(cancelled.string("status") == "CANCELLED")
            #expect(try await shop.stock(p.id) == 10)
            let twice = try await c.send(.post, "/orders/\(order)/cancel", token: user.idToken)
            #expect(twice.status == .conflict)
            #expect((twice.errorDetails as? [String: Any])?["status"] as? String == "CANCELLED")
            #expect(try await shop.stock(p.id) == 10, "stock returned once")

            let second = try await c.placeOrder([(p.id, 1)], token: user.idToken).string("id")
            let byAdmin = try await c.send(.post, "/orders/\(second)/cancel", token: admin.accessToken)
            #expect(byAdmin.string("status") == "CANCELLED")
            #expect(try await c.send(.post, "/orders/nope/cancel", token: admin.idToken).status == .notFound)
        }
    }

    @Test func unpaidOrdersExpire() async throws {
        let shop = try await TestShop(orderTTL: 60)
        defer { shop.cleanUp() }
        let p = try await shop.product(quantity: 5)
        try await shop.test { c in
            let user = try await c.shopper()
            let early = try await c.placeOrder([(p.id, 2)], token: user.idToken).string("id")
            shop.clock.advance(by: 30)
            let late = try await c.placeOrder([(p.id, 3)], token: user.idToken).string("id")
            #expect(try await shop.stock(p.id) == 0)
            shop.clock.advance(by: 31)
            #expect(try await shop.services.orders.expireDue() == 1)
            #expect(try await c.send(.get, "/orders/\(early)", token: user.idToken).string("status") == "CANCELLED")
            #expect(try await c.send(.get, "/orders/\(late)", token: user.idToken).string("status") == "PENDING_PAYMENT")
            #expect(try await shop.stock(p.id) == 2)
            shop.clock.advance(by: 30)
            #expect(try await shop.services.orders.expireDue() == 1)
            #expect(try await shop.services.orders.expireDue() == 0)
            #expect(try await shop.stock(p.id) == 5)
        }
    }
}
