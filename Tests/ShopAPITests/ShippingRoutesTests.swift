import Foundation
import HTTPTypes
import ShopAPI
import ShopDomain
import Testing

/// Store settings, address books, quotes and orders with shipping and tax, and tracked fulfilment, through the router.
@Suite("Shipping routes")
struct ShippingRoutesTests {
    static func address(country: String, region: String?, postalCode: String, city: String = "Somewhere") -> String {
        let region = region.map { #""region":"\#($0)","# } ?? ""
        return
            #"{"name":"Grace Hopper","line1":"1 High St","city":"\#(city)",\#(region)"postalCode":"\#(postalCode)","country":"\#(country)"}"#
    }
    static let california = address(country: "US", region: "ca", postalCode: "94105", city: "San Francisco")
    static let london = address(country: "GB", region: nil, postalCode: "sw1a1aa", city: "London")

    static func lines(_ lines: [(String, Int)]) -> String {
        "[" + lines.map { #"{"productId":"\#($0.0)","quantity":\#($0.1)}"# }.joined(separator: ",") + "]"
    }

    /// r(x): half away from zero, in integers.
    static func r(_ numerator: Int, _ denominator: Int) -> Int {
        let q = numerator / denominator
        let rem = numerator % denominator
        return 2 * abs(rem) >= denominator ? q + (numerator >= 0 ? 1 : -1) : q
    }

    @Test func settingsAreTheDefaultUntilAnAdminReplacesThemWithIfMatch() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let initial = try await c.send(.get, "/settings")
            #expect(initial.status == .ok)
            #expect(initial.headers[.eTag] == "\"s0\"")
            #expect(initial.int("version") == 0)
            #expect(initial["updatedAt"] is NSNull)
            #expect(initial.string("currency") == "USD")
            let zones = initial["shippingZones"] as? [[String: Any]] ?? []
            #expect(zones.map { $0["id"] as? String } == ["us", "world"])

            var body =
                #"{"currency":"USD","pricesIncludeTax":false,"shippingZones":[{"id":"us","name":"US","countries":["US"],"methods":[{"id":"ground","name":"Ground","price":700,"minDays":2,"maxDays":6}]}],"taxRates":[{"country":"US","region":"WA","rate":6500,"name":"Washington","appliesToShipping":true}]}"#
            let put = try await c.send(.put, "/settings", token: admin.accessToken, json: body, headers: [.ifMatch: "\"s0\""])
            #expect(put.status == .ok, "\(put.text)")
            #expect(put.headers[.eTag] == "\"s1\"")
            #expect(put.int("version") == 1)
            #expect(put.string("updatedAt").hasSuffix("Z"))
            let stale = try await c.send(.put, "/settings", token: admin.accessToken, json: body, headers: [.ifMatch: "\"s0\""])
            #expect(stale.status == .preconditionFailed)
            #expect(stale.errorCode == "precondition_failed")
            #expect(try await c.send(.get, "/settings").int("version") == 1, "a refused save changes nothing")
            // Without If-Match the replacement is unconditional, and the version still grows by one.
            #expect(try await c.send(.put, "/settings", token: admin.accessToken, json: body).int("version") == 2)

            body = body.replacingOccurrences(of: #""price":700"#, with: #""price":-1"#).replacingOccurrences(
                of: #""region":"WA""#, with: #""region":"XX""#)
            let invalid = try await c.send(.put, "/settings", token: admin.accessToken, json: body)
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorCode == "validation_failed")
            let fields = Set((invalid.errorDetails as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(fields.isSuperset(of: ["shippingZones[0].methods[0].price", "taxRates[0].region"]), "\(fields)")

            let huge =
                #"{"currency":"USD","pricesIncludeTax":false,"shippingZones":[],"taxRates":[],"padding":""#
                + String(repeating: "x", count: 70_000) + #""}"#
            let tooBig = try await c.send(.put, "/settings", token: admin.accessToken, json: huge)
            #expect(tooBig.status == .badRequest && tooBig.errorCode == "validation_failed")
            #expect(try await c.send(.get, "/settings").int("version") == 2)
        }
    }

    @Test func aProductWithoutACurrencyTakesTheSettingsOne() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let euro =
                #"{"currency":"EUR","pricesIncludeTax":true,"shippingZones":[{"id":"eu","name":"EU","countries":["DE","FR"],"methods":[{"id":"dhl","name":"DHL","price":490,"minDays":1,"maxDays":3}]}],"taxRates":[{"country":"DE","rate":19000,"name":"MwSt","appliesToShipping":true}]}"#
            #expect(try await c.send(.put, "/settings", token: admin.accessToken, json: euro).status == .ok)
            let made = try await c.send(
                .post, "/products", token: admin.accessToken, json: #"{"name":"Brezel","price":119,"category":"bakery","quantity":5}"#)
            #expect(made.string("currency") == "EUR")
        }
    }

    /// The issue's own example, and the rules around it: tax per line, shipping tax only where the rate applies to
    /// shipping, free shipping from `freeOver`, the cheapest method by default; the order agrees with its quote.
    @Test func quotesFollowTheMoneyRulesAndOrdersAgreeWithThem() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let tea = try await shop.product("Tea", price: 1450, quantity: 100)
        let pot = try await shop.product("Pot", price: 3333, quantity: 100)
        try await shop.test { c in
            let shopper = try await c.shopper()
            let quote = try await c.send(
                .post, "/orders/quote", json: #"{"lines":\#(Self.lines([(tea.id, 2)])),"shippingAddress":\#(Self.california)}"#)
            #expect(quote.status == .ok, "\(quote.text)")
            #expect(quote.string("currency") == "USD")
            #expect(quote.int("subtotal") == 2900)
            #expect(quote.string("shippingMethodId") == "standard", "the cheaper of standard (500) and express (1500)")
            #expect(quote.int("shippingTotal") == 500)
            #expect(quote.int("shippingTax") == 0, "California's rate does not apply to shipping")
            #expect((quote["lines"] as? [[String: Any]])?.first?["tax"] as? Int == 210, "r(2900 × 7.25 %) = r(210.25)")
            #expect(quote.int("taxTotal") == 210)
            #expect(quote.int("total") == 3610)
            let methods = quote["shippingMethods"] as? [[String: Any]] ?? []
            #expect(methods.map { $0["id"] as? String } == ["standard", "express"])
            #expect(methods.map { $0["price"] as? Int } == [500, 1500])
            #expect(try await shop.stock(tea.id) == 100, "a quote takes no stock")
            #expect(try await c.send(.get, "/orders", token: shopper.accessToken).items.isEmpty, "and stores nothing")

            // Over $50: standard is free, and the order placed agrees with the quote to the minor unit.
            let big = Self.lines([(tea.id, 3), (pot.id, 1)])
            let bigQuote = try await c.send(
                .post, "/orders/quote", json: #"{"lines":\#(big),"shippingAddress":\#(Self.california),"shippingMethodId":"standard"}"#)
            let taxes = [Self.r(4350 * 7250, 100_000), Self.r(3333 * 7250, 100_000)]
            #expect(bigQuote.int("shippingTotal") == 0)
            #expect((bigQuote["lines"] as? [[String: Any]])?.map { $0["tax"] as? Int } == taxes.map { $0 })
            #expect(bigQuote.int("total") == 4350 + 3333 + taxes.reduce(0, +))
            let order = try await c.send(
                .post, "/orders", token: shopper.accessToken,
                json: #"{"lines":\#(big),"shippingAddress":\#(Self.california),"shippingMethodId":"standard"}"#)
            #expect(order.status == .created, "\(order.text)")
            for field in ["subtotal", "shippingTotal", "shippingTax", "taxTotal", "total"] {
                #expect(order.int(field) == bigQuote.int(field), "\(field)")
            }
            #expect((order["shippingAddress"] as? [String: Any])?["region"] as? String == "CA", "stored normalised")
            #expect((order["shippingMethod"] as? [String: Any])?["price"] as? Int == 0, "the effective price charged")
            #expect(order["shipment"] is NSNull)

            // To London: the world zone, and VAT on the lines and on shipping.
            let uk = try await c.send(
                .post, "/orders/quote", json: #"{"lines":\#(Self.lines([(tea.id, 1)])),"shippingAddress":\#(Self.london)}"#)
            #expect(uk.string("shippingMethodId") == "intl")
            #expect(uk.int("shippingTotal") == 2500)
            #expect(uk.int("shippingTax") == 500)
            #expect(uk.int("taxTotal") == 290 + 500)
            #expect(uk.int("total") == 1450 + 2500 + 790)
        }
    }

    @Test func quoteAndOrderErrorsComeInTheContractsOrder() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let tea = try await shop.product("Tea", price: 1450, quantity: 10)
        let euro = try await shop.product("Croissant", price: 200, quantity: 10, currency: "EUR")
        let dear = try await shop.product("Yacht", price: 100_000_000, quantity: 10)
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let shopper = try await c.shopper()
            func quote(_ body: String) async throws -> Reply { try await c.send(.post, "/orders/quote", json: body) }
            let badZip = Self.address(country: "US", region: "CA", postalCode: "9410")
            let badAddress = try await quote(#"{"lines":\#(Self.lines([("no-such", 1)])),"shippingAddress":\#(badZip)}"#)
            #expect(badAddress.errorCode == "validation_failed", "the address before the products")
            #expect((badAddress.errorDetails as? [[String: Any]])?.first?["field"] as? String == "shippingAddress.postalCode")
            #expect(
                try await quote(#"{"lines":\#(Self.lines([("no-such", 1)])),"shippingAddress":\#(Self.california)}"#).errorCode
                    == "product_not_found")
            let currency = try await quote(#"{"lines":\#(Self.lines([(euro.id, 1)])),"shippingAddress":\#(Self.california)}"#)
            #expect(currency.status == .badRequest && currency.errorCode == "unsupported_currency")
            #expect((currency.errorDetails as? [String: Any])?["currency"] as? String == "EUR")
            let method = try await quote(
                #"{"lines":\#(Self.lines([(tea.id, 1)])),"shippingAddress":\#(Self.california),"shippingMethodId":"intl"}"#)
            #expect(method.errorCode == "validation_failed", "a method of another zone")
            #expect((method.errorDetails as? [[String: Any]])?.first?["field"] as? String == "shippingMethodId")
            #expect(
                try await quote(#"{"lines":\#(Self.lines([(dear.id, 1)])),"shippingAddress":\#(Self.california)}"#).errorCode
                    == "total_too_large")
            // A store that ships to the US only.
            let usOnly =
                #"{"currency":"USD","pricesIncludeTax":false,"shippingZones":[{"id":"us","name":"US","countries":["US"],"methods":[{"id":"ground","name":"Ground","price":700,"minDays":2,"maxDays":6}]}],"taxRates":[]}"#
            #expect(try await c.send(.put, "/settings", token: admin.accessToken, json: usOnly).status == .ok)
            let nowhere = try await quote(#"{"lines":\#(Self.lines([(tea.id, 1)])),"shippingAddress":\#(Self.london)}"#)
            #expect(nowhere.errorCode == "shipping_unavailable")
            #expect((nowhere.errorDetails as? [String: Any])?["country"] as? String == "GB")

            // POST /orders: both address forms, or neither, or no method.
            func order(_ body: String) async throws -> Reply { try await c.send(.post, "/orders", token: shopper.accessToken, json: body) }
            let both = try await order(
                #"{"lines":\#(Self.lines([(tea.id, 1)])),"shippingAddress":\#(Self.california),"addressId":"x","shippingMethodId":"ground"}"#
            )
            #expect((both.errorDetails as? [[String: Any]])?.compactMap { $0["field"] as? String } == ["addressId"])
            let neither = try await order(#"{"lines":\#(Self.lines([(tea.id, 1)]))}"#)
            #expect(
                Set((neither.errorDetails as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []) == [
                    "shippingAddress", "shippingMethodId",
                ])
            #expect(try await shop.stock(tea.id) == 10, "nothing refused took stock")
        }
    }

    @Test func theAddressBookIsTheShoppersOwnAndOrdersCopyFromIt() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let tea = try await shop.product("Tea", price: 1450, quantity: 10)
        try await shop.test { c in
            let shopper = try await c.shopper()
            let other = try await c.shopper()
            let added = try await c.send(.post, "/account/addresses", token: shopper.accessToken, json: Self.london)
            #expect(added.status == .created, "\(added.text)")
            let id = added.string("id")
            #expect(added.string("postalCode") == "SW1A 1AA", "normalised")
            #expect(added.headers[.location] == "/account/addresses/\(id)")
            #expect(try await c.send(.get, "/account/addresses", token: shopper.accessToken).items.map { $0["id"] as? String } == [id])
            #expect(try await c.send(.get, "/account/addresses", token: other.accessToken).items.isEmpty)
            #expect(try await c.send(.put, "/account/addresses/\(id)", token: other.accessToken, json: Self.london).status == .notFound)
            #expect(try await c.send(.delete, "/account/addresses/\(id)", token: other.accessToken).status == .notFound)
            let bad = try await c.send(
                .post, "/account/addresses", token: shopper.accessToken, json: Self.address(country: "US", region: nil, postalCode: "94105")
            )
            #expect(bad.errorCode == "validation_failed")
            #expect((bad.errorDetails as? [[String: Any]])?.compactMap { $0["field"] as? String } == ["region"])

            // An order by addressId copies the address: editing the book later changes no placed order.
            let placed = try await c.send(
                .post, "/orders", token: shopper.accessToken,
                json: #"{"lines":\#(Self.lines([(tea.id, 1)])),"addressId":"\#(id)","shippingMethodId":"intl"}"#)
            #expect(placed.status == .created, "\(placed.text)")
            #expect((placed["shippingAddress"] as? [String: Any])?["city"] as? String == "London")
            let moved = try await c.send(.put, "/account/addresses/\(id)", token: shopper.accessToken, json: Self.california)
            #expect(moved.status == .ok && moved.string("city") == "San Francisco")
            let reread = try await c.send(.get, "/orders/\(placed.string("id"))", token: shopper.accessToken)
            #expect((reread["shippingAddress"] as? [String: Any])?["city"] as? String == "London")
            let theirs = try await c.send(
                .post, "/orders", token: other.accessToken,
                json: #"{"lines":\#(Self.lines([(tea.id, 1)])),"addressId":"\#(id)","shippingMethodId":"intl"}"#)
            #expect(theirs.errorCode == "validation_failed", "someone else's saved address")

            #expect(try await c.send(.delete, "/account/addresses/\(id)", token: shopper.accessToken).status == .noContent)
            for i in 0..<20 {
                #expect(
                    try await c.send(
                        .post, "/account/addresses", token: shopper.accessToken,
                        json: Self.address(country: "FR", region: nil, postalCode: "750\(String(format: "%02d", i))")
                    ).status == .created)
            }
            let full = try await c.send(.post, "/account/addresses", token: shopper.accessToken, json: Self.london)
            #expect(full.status == .conflict && full.errorCode == "too_many_addresses")
            #expect((full.errorDetails as? [String: Any])?["limit"] as? Int == 20)
        }
    }

    @Test func fulfilmentRecordsTrackingTheShopperSees() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await PaymentRoutesTests.checkout(shop, c)
            let admin = try await shop.admin(c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)
            await shop.deliver()
            let badURL = try await c.send(
                .post, "/orders/\(x.orderId)/fulfil", token: admin.accessToken,
                json: #"{"carrier":"UPS","trackingUrl":"http://ups.example/1"}"#)
            #expect(badURL.status == .badRequest)
            #expect((badURL.errorDetails as? [[String: Any]])?.compactMap { $0["field"] as? String } == ["trackingUrl"])
            #expect(
                try await c.order(x.orderId, token: x.shopper.accessToken).string("status") == "PAID", "a refused fulfil changes nothing")
            let shipped = try await c.send(
                .post, "/orders/\(x.orderId)/fulfil", token: admin.accessToken,
                json: #"{"carrier":"UPS","trackingNumber":"1Z 999-AA","trackingUrl":"https://ups.example/track?n=1Z999AA"}"#)
            #expect(shipped.status == .ok, "\(shipped.text)")
            let seen = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(seen.string("status") == "FULFILLED")
            let shipment = seen["shipment"] as? [String: Any] ?? [:]
            #expect(shipment["carrier"] as? String == "UPS")
            #expect(shipment["trackingNumber"] as? String == "1Z 999-AA")
            #expect(shipment["trackingUrl"] as? String == "https://ups.example/track?n=1Z999AA")
            #expect((shipment["shippedAt"] as? String)?.hasSuffix("Z") == true)
            // Without a body, a fulfilment records a shipment without tracking.
            let y = try await PaymentRoutesTests.checkout(shop, c)
            _ = try await c.confirm(y.paymentId, token: y.shopper.accessToken)
            await shop.deliver()
            let plain = try await c.send(.post, "/orders/\(y.orderId)/fulfil", token: admin.accessToken)
            #expect(plain.status == .ok)
            #expect((plain["shipment"] as? [String: Any])?["carrier"] is NSNull)
        }
    }

    /// An order placed before shipping existed still reads: subtotal = total, no shipping or tax, null address and method.
    @Test func ordersFromBeforeShippingStillRead() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let tea = try await shop.product("Tea", price: 450, quantity: 10)
        let old = Order(
            id: Identifier.make(at: shop.clock.now), userId: "someone",
            lines: [OrderLine(productId: tea.id, name: "Tea", unitPrice: 450, quantity: 2)],
            total: 900, currency: "USD", status: .pendingPayment, createdAt: shop.clock.now, updatedAt: shop.clock.now,
            expiresAt: shop.clock.now.addingTimeInterval(900))
        _ = try await shop.store.placeOrder(old, claim: nil, at: shop.clock.now)
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let read = try await c.send(.get, "/orders/\(old.id)", token: admin.accessToken)
            #expect(read.int("subtotal") == 900 && read.int("total") == 900)
            #expect(read.int("shippingTotal") == 0 && read.int("taxTotal") == 0 && read.int("shippingTax") == 0)
            #expect(read["shippingAddress"] is NSNull && read["shippingMethod"] is NSNull && read["shipment"] is NSNull)
            #expect((read["lines"] as? [[String: Any]])?.first?["tax"] as? Int == 0)
        }
    }

    /// A replay answers the original order even after the settings changed.
    @Test func aReplayAnswersTheOriginalOrderAfterTheSettingsChanged() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let tea = try await shop.product("Tea", price: 1450, quantity: 10)
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let shopper = try await c.shopper()
            let body = #"{"lines":\#(Self.lines([(tea.id, 2)])),"shippingAddress":\#(Self.california),"shippingMethodId":"standard"}"#
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "ship-1"]
            let first = try await c.send(.post, "/orders", token: shopper.accessToken, json: body, headers: key)
            let usOnly =
                #"{"currency":"USD","pricesIncludeTax":false,"shippingZones":[{"id":"us","name":"US","countries":["US"],"methods":[{"id":"ground","name":"Ground","price":700,"minDays":2,"maxDays":6}]}],"taxRates":[]}"#
            #expect(try await c.send(.put, "/settings", token: admin.accessToken, json: usOnly).status == .ok)
            let replay = try await c.send(.post, "/orders", token: shopper.accessToken, json: body, headers: key)
            #expect(replay.status == .created)
            #expect(replay.string("id") == first.string("id"))
            #expect(replay.int("total") == 3610, "the original money, though 'standard' no longer exists")
        }
    }
}
