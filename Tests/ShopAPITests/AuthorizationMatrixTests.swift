import Foundation
import HTTPTypes
import ShopAPI
import Testing

/// Who may do what, in one table: every route × {anonymous, shopper, another shopper, admin} ×
/// {an existing resource, a missing one}, with the status each must get. Each cell runs on fresh data
/// (a product, the shopper's order for it, and that order's payment), against the router on a socket.
@Suite("Authorization matrix")
struct AuthorizationMatrixTests {
    enum Caller: String, CaseIterable, Sendable { case anonymous, shopper, otherShopper, admin }

    /// The ids a cell works on; `missing` swaps each for one that does not exist.
    struct Fixture: Sendable {
        var productId: String
        var orderId: String
        var paymentId: String
        var refreshToken: String
        var addressId: String
    }

    struct Route: Sendable, CustomTestStringConvertible {
        var method: HTTPRequest.Method
        /// With `{product}`, `{order}`, `{payment}` for the fixture's ids.
        var path: String
        var body: String?
        /// Status for each caller: (existing, missing). Routes without a resource give the same twice.
        var expected: [Caller: (Int, Int)]
        var testDescription: String { "\(method) \(path)" }

        init(_ method: HTTPRequest.Method, _ path: String, body: String? = nil, _ expected: [Caller: (Int, Int)]) {
            self.method = method
            self.path = path
            self.body = body
            self.expected = expected
        }

        /// The same status for everyone, existing or not.
        static func everyone(_ method: HTTPRequest.Method, _ path: String, body: String? = nil, _ status: Int) -> Route {
            Route(method, path, body: body, Dictionary(uniqueKeysWithValues: Caller.allCases.map { ($0, (status, status)) }))
        }
    }

    static let card = #"{"number":"4242424242424242","expMonth":12,"expYear":2031,"cvc":"123"}"#
    static let address = #"{"name":"Ada Lovelace","line1":"1 Main St","city":"Portland","region":"OR","postalCode":"97201","country":"US"}"#
    static let settingsBody =
        #"{"currency":"USD","pricesIncludeTax":false,"shippingZones":[{"id":"all","name":"Everywhere","countries":["*"],"methods":[{"id":"post","name":"Post","price":500,"minDays":2,"maxDays":9}]}],"taxRates":[]}"#
    static let productBody = #"{"name":"Lamp","price":100,"category":"home","quantity":1}"#

    static let routes: [Route] = [
        .everyone(.get, "/health", 200),
        .everyone(.get, "/openapi.json", 200),
        .everyone(.get, "/.well-known/jwks.json", 200),
        .everyone(.get, "/payment/config", 200),
        .everyone(.post, "/auth/register", body: #"{"email":"not-an-email","password":"x","name":"x"}"#, 400),
        .everyone(.post, "/auth/confirm", body: #"{"email":"a@example.com","code":"1"}"#, 400),
        .everyone(.post, "/auth/login", body: #"{"email":"nobody@example.com","password":"Wrong-pass1"}"#, 401),
        .everyone(.post, "/auth/refresh", body: #"{"refreshToken":"not-a-token"}"#, 401),
        .everyone(.post, "/payment/webhook", body: "{}", 400),
        Route(.get, "/auth/me", [.anonymous: (401, 401), .shopper: (200, 200), .otherShopper: (200, 200), .admin: (200, 200)]),
        // The shopper's own refresh token: only the shopper may revoke it.
        Route(
            .post, "/auth/logout", body: #"{"refreshToken":"{refresh}"}"#,
            [.anonymous: (401, 401), .shopper: (204, 401), .otherShopper: (401, 401), .admin: (401, 401)]),
        .everyone(.get, "/products", 200),
        Route(.get, "/products/{product}", [.anonymous: (200, 404), .shopper: (200, 404), .otherShopper: (200, 404), .admin: (200, 404)]),
        Route(
            .post, "/products", body: productBody,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (201, 201)]),
        Route(
            .put, "/products/{product}", body: productBody,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (200, 404)]),
        Route(
            .delete, "/products/{product}", [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (204, 404)]),
        Route(
            .post, "/products/{product}/stock", body: #"{"delta":1}"#,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (200, 404)]),
        Route(
            .post, "/products/{product}/image", body: #"{"contentType":"image/png"}"#,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (200, 404)]),
        Route(
            .post, "/products/{product}/image/commit", body: #"{"key":"products/{product}/x.png"}"#,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (409, 409)]),
        // The fixture's product has one variant, its default, whose id is the product's.
        Route(
            .post, "/products/{product}/variants/{variant}/stock", body: #"{"delta":1}"#,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (200, 404)]),
        Route(
            .post, "/products/{product}/variants/{variant}/image", body: #"{"contentType":"image/png"}"#,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (200, 404)]),
        Route(
            .post, "/products/{product}/variants/{variant}/image/commit", body: #"{"key":"products/{product}/x.png"}"#,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (409, 409)]),
        Route(
            .post, "/orders",
            body: #"{"lines":[{"productId":"{product}","quantity":1}],"shippingAddress":\#(address),"shippingMethodId":"standard"}"#,
            [.anonymous: (401, 401), .shopper: (201, 404), .otherShopper: (201, 404), .admin: (201, 404)]),
        // A saved address is the caller's own: someone else's id is refused like a missing one.
        Route(
            .post, "/orders",
            body: #"{"lines":[{"productId":"{product}","quantity":1}],"addressId":"{address}","shippingMethodId":"standard"}"#,
            [.anonymous: (401, 401), .shopper: (201, 400), .otherShopper: (400, 400), .admin: (400, 400)]),
        Route(
            .post, "/orders/quote", body: #"{"lines":[{"productId":"{product}","quantity":1}],"shippingAddress":\#(address)}"#,
            [.anonymous: (200, 404), .shopper: (200, 404), .otherShopper: (200, 404), .admin: (200, 404)]),
        .everyone(.get, "/settings", 200),
        Route(
            .put, "/settings", body: settingsBody,
            [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (200, 200)]),
        Route(.get, "/account/addresses", [.anonymous: (401, 401), .shopper: (200, 200), .otherShopper: (200, 200), .admin: (200, 200)]),
        Route(
            .post, "/account/addresses", body: address,
            [.anonymous: (401, 401), .shopper: (201, 201), .otherShopper: (201, 201), .admin: (201, 201)]),
        Route(
            .put, "/account/addresses/{address}", body: address,
            [.anonymous: (401, 401), .shopper: (200, 404), .otherShopper: (404, 404), .admin: (404, 404)]),
        Route(
            .delete, "/account/addresses/{address}",
            [.anonymous: (401, 401), .shopper: (204, 404), .otherShopper: (404, 404), .admin: (404, 404)]),
        Route(.get, "/orders", [.anonymous: (401, 401), .shopper: (200, 200), .otherShopper: (200, 200), .admin: (200, 200)]),
        Route(.get, "/orders?all=true", [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (200, 200)]),
        Route(.get, "/orders/{order}", [.anonymous: (401, 401), .shopper: (200, 404), .otherShopper: (404, 404), .admin: (200, 404)]),
        Route(.get, "/admin/stats", [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (200, 200)]),
        Route(
            .get, "/orders/{order}/events", [.anonymous: (401, 401), .shopper: (200, 404), .otherShopper: (404, 404), .admin: (200, 404)]),
        Route(
            .post, "/orders/{order}/cancel", [.anonymous: (401, 401), .shopper: (200, 404), .otherShopper: (404, 404), .admin: (200, 404)]),
        // Not paid yet: the admin's fulfil is refused by the state machine, not by authorization.
        Route(
            .post, "/orders/{order}/fulfil", [.anonymous: (401, 401), .shopper: (403, 403), .otherShopper: (403, 403), .admin: (409, 404)]),
        // Only the owner pays: an admin starting a payment for someone's order is a 404 like any other stranger.
        Route(
            .post, "/payment", body: #"{"orderId":"{order}"}"#,
            [.anonymous: (401, 401), .shopper: (201, 404), .otherShopper: (404, 404), .admin: (404, 404)]),
        // The card steps, too: an admin may look at a payment but never confirm or authenticate a shopper's.
        Route(
            .post, "/payment/simulator/confirm", body: #"{"paymentId":"{payment}","card":\#(card)}"#,
            [.anonymous: (401, 401), .shopper: (200, 404), .otherShopper: (404, 404), .admin: (404, 404)]),
        Route(
            .post, "/payment/simulator/authenticate", body: #"{"paymentId":"{payment}","outcome":"approve"}"#,
            [.anonymous: (401, 401), .shopper: (409, 404), .otherShopper: (404, 404), .admin: (404, 404)]),
        Route(
            .get, "/payment/simulator/payments/{payment}",
            [.anonymous: (401, 401), .shopper: (200, 404), .otherShopper: (404, 404), .admin: (200, 404)]),
    ]

    /// Routes outside the bearer-token model, and why.
    static let exempt: Set<String> = [
        "PUT /uploads/products/{productId}/{file}",  // authorised by the URL's signature (ImageRoutesTests)
        "GET /images/products/{productId}/{file}",  // public images
    ]

    static func fill(_ text: String, _ f: Fixture) -> String {
        text.replacingOccurrences(of: "{product}", with: f.productId).replacingOccurrences(of: "{variant}", with: f.productId)
            .replacingOccurrences(of: "{order}", with: f.orderId)
            .replacingOccurrences(of: "{payment}", with: f.paymentId).replacingOccurrences(of: "{refresh}", with: f.refreshToken)
            .replacingOccurrences(of: "{address}", with: f.addressId)
    }

    @Test func theMatrixCoversEveryRoute() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        func template(_ path: String) -> String {
            path.replacingOccurrences(of: "{product}", with: "{id}").replacingOccurrences(of: "{variant}", with: "{variantId}")
                .replacingOccurrences(of: "{order}", with: "{id}")
                .replacingOccurrences(of: "{payment}", with: "{id}").replacingOccurrences(of: "{address}", with: "{id}")
                .split(separator: "?").first.map(String.init) ?? path
        }
        let covered = Set(Self.routes.map { "\($0.method) \(template($0.path))" })
        let served = Set(routeTable(services: shop.services)).subtracting(Self.exempt)
        #expect(served.subtracting(covered).isEmpty, "routes missing from the matrix: \(served.subtracting(covered).sorted())")
        #expect(covered.subtracting(served).isEmpty, "matrix rows for no route: \(covered.subtracting(served).sorted())")
        #expect(Self.routes.count * Caller.allCases.count * 2 >= 200)
    }

    @Test(arguments: routes)
    func cell(_ route: Route) async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let admin = try await shop.admin(c)
            let other = try await c.shopper()
            for caller in Caller.allCases {
                for missing in [false, true] {
                    // Fresh data for every cell: the shopper's order for a product, and its payment.
                    let shopper = try await c.shopper()
                    let product = try await shop.product(quantity: 10)
                    let order = try await c.placeOrder([(product.id, 1)], token: shopper.accessToken)
                    let payment = try await c.startPayment(order.string("id"), token: shopper.accessToken)
                    let saved = try await c.send(.post, "/account/addresses", token: shopper.accessToken, json: Self.address)
                    var fixture = Fixture(
                        productId: product.id, orderId: order.string("id"), paymentId: payment.string("paymentId"),
                        refreshToken: shopper.refreshToken, addressId: saved.string("id"))
                    if missing {
                        fixture.productId = "0193a1b2-0000-7000-8000-000000000000"
                        fixture.orderId = "0193a1b2-0000-7000-8000-000000000001"
                        fixture.paymentId = "pi_missing"
                        fixture.refreshToken = "missing-refresh-token"
                        fixture.addressId = "0193a1b2-0000-7000-8000-000000000002"
                    }
                    let token: String? =
                        switch caller {
                        case .anonymous: nil
                        case .shopper: shopper.accessToken
                        case .otherShopper: other.accessToken
                        case .admin: admin.accessToken
                        }
                    let reply = try await c.send(
                        route.method, Self.fill(route.path, fixture), token: token, json: route.body.map { Self.fill($0, fixture) })
                    let (existing, absent) = try #require(route.expected[caller])
                    #expect(
                        Int(reply.status.code) == (missing ? absent : existing),
                        "\(route.method) \(route.path) as \(caller.rawValue), \(missing ? "missing" : "existing"): \(reply.status.code) \(reply.text.prefix(160))"
                    )
                }
            }
        }
    }
}
