import Foundation
import HTTPTypes
import ShopAPI
import ShopDomain
import ShopSupport
import Testing

/// `GET /admin/stats` on the embedded store, for a known set of orders.
@Suite("The merchant's figures")
struct AdminStatsTests {
    @Test func theFiguresOfAKnownSetOfOrders() async throws {
        let shop = try await TestShop(limits: ["SHOP_LOW_STOCK": "3"])
        defer { shop.cleanUp() }
        try await shop.live { c in
            let today = UTCDay(shop.clock.now).description
            let kettle = try await shop.product("Kettle", price: 1500, quantity: 10)
            let mug = try await shop.product("Mug", price: 400, quantity: 4)
            let (shopper, paidId) = try await EventsTests.paidOrder(shop, c)  // 2 × Kettle-like product of its own
            // Three mugs and a kettle, paid; a kettle, paid then cancelled (refunded); one unpaid.
            let mugs = try await c.placeOrder([(mug.id, 3), (kettle.id, 1)], token: shopper.accessToken)
            try await Self.pay(shop, c, mugs.string("id"), shopper)
            let refunded = try await c.placeOrder([(kettle.id, 1)], token: shopper.accessToken)
            try await Self.pay(shop, c, refunded.string("id"), shopper)
            #expect(try await c.send(.post, "/orders/\(refunded.string("id"))/cancel", token: shopper.accessToken).status == .ok)
            _ = try await c.placeOrder([(kettle.id, 2)], token: shopper.accessToken)

            let admin = try await shop.admin(c)
            let reply = try await c.send(.get, "/admin/stats", token: admin.accessToken)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.string("to") == today)
            #expect(reply.string("from") == UTCDay(shop.clock.now).adding(-29).description)
            #expect(reply.int("lowStockBelow") == 3)
            let currencies = reply.json["currencies"] as? [[String: Any]] ?? []
            #expect(currencies.count == 1)
            let usd = try #require(currencies.first)
            #expect(usd["currency"] as? String == "USD")
            // Paid: 2×1500+500 (the first), 3×400+1500+500 (free shipping from 5000: not reached), 1500+500.
            let paidTotals = [3_500, 3_200, 2_000]
            #expect(usd["revenue"] as? Int == paidTotals.reduce(0, +))
            #expect(usd["refunds"] as? Int == 2_000)
            #expect(usd["orders"] as? [String: Int] == ["placed": 4, "paid": 3, "fulfilled": 0, "cancelled": 1])
            let days = usd["days"] as? [[String: Any]] ?? []
            #expect(days.count == 30, "every day of the period")
            #expect(days.last?["date"] as? String == today)
            #expect(days.last?["revenue"] as? Int == 8_700)
            #expect(days.dropLast().allSatisfy { $0["revenue"] as? Int == 0 && $0["placed"] as? Int == 0 })
            let top = (usd["topProducts"] as? [[String: Any]] ?? []).map {
                ($0["name"] as? String ?? "", $0["units"] as? Int ?? 0, $0["revenue"] as? Int ?? 0)
            }
            #expect(top.map(\.0) == ["Mug", "Kettle", "Kettle"], "by units: 3 mugs, then 2 of each kettle (revenue breaks the tie)")
            #expect(top.first?.1 == 3 && top.first?.2 == 1_200)
            #expect(top.map(\.1) == [3, 2, 2])
            let low = reply.json["lowStock"] as? [[String: Any]] ?? []
            #expect(low.map { $0["productId"] as? String } == [mug.id], "1 mug left (4 - 3); kettles: 10 - 1 - 2 held + 1 back = 8")
            #expect(low.first?["quantity"] as? Int == 1)
            _ = paidId

            // A period before anything happened: zeros, no currencies.
            let empty = try await c.send(.get, "/admin/stats?from=2020-01-01&to=2020-01-31", token: admin.accessToken)
            #expect((empty.json["currencies"] as? [Any])?.isEmpty == true)

            // Bad periods, and who may ask.
            for query in [
                "from=2026-13-01", "to=yesterday", "from=2026-12-07&to=2026-12-06", "from=2025-01-01&to=2026-12-06", "from=2026-02-30",
            ] {
                let bad = try await c.send(.get, "/admin/stats?\(query)", token: admin.accessToken)
                #expect(bad.status == .badRequest, "\(query)")
                #expect(bad.errorCode == "invalid_parameter", "\(query)")
            }
            #expect(
                try await c.send(.get, "/admin/stats?from=2025-12-07&to=2026-12-07", token: admin.accessToken).status == .ok, "366 days")
            #expect(try await c.send(.get, "/admin/stats", token: shopper.accessToken).status == .forbidden)
            #expect(try await c.send(.get, "/admin/stats").status == .unauthorized)
        }
    }

    static func pay(_ shop: TestShop, _ c: ShopClient, _ orderId: String, _ shopper: Session) async throws {
        let payment = try await c.startPayment(orderId, token: shopper.accessToken)
        #expect(try await c.confirm(payment.string("paymentId"), token: shopper.accessToken).status == .ok)
        #expect(await shop.deliver() == 1)
    }
}
