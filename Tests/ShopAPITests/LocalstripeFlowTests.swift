import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SQLiteStore
import ShopAPI
import ShopAssembly
import ShopStorage
import TestServices
import Testing

/// The Stripe gateway end to end against localstripe: our `POST /payment` creates the PaymentIntent there,
/// the test confirms it as Stripe.js would, and localstripe's own signed webhook, delivered over HTTP to
/// our `/payment/webhook` (registered with `POST /_config/webhooks/...`), pays the order.
@Suite("Stripe flow (localstripe webhooks)")
struct LocalstripeFlowTests {
    static var base: String {
        get throws { try TestService.localstripe.endpoint }
    }

    static func post(_ url: String, form: String, auth: Bool = true) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        if auth { request.headers.add(name: "Authorization", value: "Bearer sk_test_flow") }
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    /// A shop wired to localstripe through the composition root, on a live socket whose webhook route is
    /// registered with localstripe under a fresh secret.
    static func run(_ body: @Sendable @escaping (ShopClient, TestShop) async throws -> Void) async throws {
        let base = try base
        let secret = "whsec_flow_" + UUID().uuidString.prefix(8)
        let configuration = try ShopConfiguration(environment: [
            "SHOP_TOKEN_ISSUER": TestShop.issuer, "SHOP_CLIENT_ID": TestShop.clientId, "SHOP_BCRYPT_COST": "4",
            "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0", "SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE": "0",
            "SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk_test_flow", "SHOP_STRIPE_PUBLISHABLE_KEY": "pk_test_flow",
            "SHOP_STRIPE_API_BASE": base, "SHOP_PAYMENTS_WEBHOOK_SECRET": secret,
        ])
        let testShop = try await TestShop()
        defer { testShop.cleanUp() }
        let host = HostParts(
            stores: ShopStores(testShop.store),
            secrets: ShopSecrets(cursorSecret: Array("test-cursor-secret".utf8), tokenSigningKey: TestShop.signingKey),
            logger: Logger(label: "test"))
        let services = try await ShopAssembly.assemble(configuration, host: host).services
        var logger = Logger(label: "flow")
        logger.logLevel = .warning
        let app = Application(
            router: buildRouter(services: services, context: ShopContext.self),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            let hook = "http://127.0.0.1:\(client.port!)/payment/webhook"
            let registered = try await post(
                base + "/_config/webhooks/shop-\(UUID().uuidString.prefix(8))",
                form: "url=\(hook)&secret=\(secret)&events[]=payment_intent.succeeded&events[]=payment_intent.payment_failed", auth: false)
            #expect(registered == 200)
            try await body(ShopClient(client: client), testShop)
        }
    }

    /// Polls the order until `done` holds (localstripe delivers about a second after the event).
    static func poll(_ c: ShopClient, _ orderId: String, token: String, until done: (Reply) -> Bool) async throws -> Reply {
        var reply = try await c.order(orderId, token: token)
        for _ in 0..<40 where !done(reply) {
            try await Task.sleep(for: .milliseconds(250))
            reply = try await c.order(orderId, token: token)
        }
        return reply
    }

    @Test func aConfirmedPaymentIsPaidByLocalstripesWebhookAndRefundedOnCancel() async throws {
        try await Self.run { c, shop in
            let config = try await c.send(.get, "/payment/config")
            #expect(config.json["provider"] as? String == "stripe")
            #expect(config.json["publishableKey"] as? String == "pk_test_flow")
            let shopper = try await c.shopper()
            let product = try await shop.product("Mill", price: 2500, quantity: 5)
            let order = try await c.placeOrder([(product.id, 1)], token: shopper.accessToken)
            let payment = try await c.startPayment(order.string("id"), token: shopper.accessToken)
            #expect(payment.status == .created, "\(payment.text)")
            let paymentId = payment.string("paymentId")
            #expect(paymentId.hasPrefix("pi_"))
            #expect(payment.string("provider") == "stripe")

            let base = try Self.base
            #expect(try await Self.post(base + "/v1/payment_intents/\(paymentId)", form: "payment_method=pm_card_visa") == 200)
            #expect(try await Self.post(base + "/v1/payment_intents/\(paymentId)/confirm", form: "") == 200)
            let paid = try await Self.poll(c, order.string("id"), token: shopper.accessToken) { $0.string("status") == "PAID" }
            #expect(paid.string("status") == "PAID", "localstripe's signed payment_intent.succeeded reached our webhook: \(paid.text)")

            let cancelled = try await c.send(.post, "/orders/\(order.string("id"))/cancel", token: shopper.accessToken)
            #expect(cancelled.string("status") == "CANCELLED")
            #expect(cancelled.payment["refundedAmount"] as? Int == order.int("total"), "refunded through localstripe before the answer")
            #expect(order.int("total") == 2500 + 500, "the goods and standard shipping to Oregon (no sales tax)")
            #expect(try await shop.stock(product.id) == 5)
        }
    }

    @Test func aDeclineThroughLocalstripeIsRecordedAndTheOrderStaysPayable() async throws {
        try await Self.run { c, shop in
            let shopper = try await c.shopper()
            let product = try await shop.product("Grinder", price: 900, quantity: 5)
            let order = try await c.placeOrder([(product.id, 1)], token: shopper.accessToken)
            let paymentId = try await c.startPayment(order.string("id"), token: shopper.accessToken).string("paymentId")
            let base = try Self.base
            #expect(
                try await Self.post(base + "/v1/payment_intents/\(paymentId)", form: "payment_method=pm_card_chargeCustomerFail") == 200)
            #expect(try await Self.post(base + "/v1/payment_intents/\(paymentId)/confirm", form: "") == 402)
            let failed = try await Self.poll(c, order.string("id"), token: shopper.accessToken) { $0.payment["failureCode"] != nil }
            #expect(failed.payment["failureCode"] as? String == "card_declined")
            #expect(failed.string("status") == "PENDING_PAYMENT")
        }
    }
}
