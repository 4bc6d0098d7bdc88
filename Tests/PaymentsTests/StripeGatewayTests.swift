import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Payments
import ShopDomain
import ShopSupport
import Synchronization
import TestServices
import Testing

/// A stand-in for Stripe's API, for what localstripe cannot show: that requests carry the right path,
/// form fields, headers and idempotency key, and how 429, 500 and card errors are handled. It answers
/// from a script and records every request.
final class StripeStandIn: Sendable {
    struct Received: Sendable {
        var method: String
        var path: String
        var form: [String: String]
        var headers: [String: String]
    }

    private let answers = Mutex<[(status: Int, body: String)]>([])
    private let log = Mutex<[Received]>([])

    func answer(_ status: Int, _ body: String) { answers.withLock { $0.append((status, body)) } }
    var received: [Received] { log.withLock { $0 } }

    static let intent =
        #"{"id":"pi_123","object":"payment_intent","amount":2500,"currency":"usd","status":"requires_payment_method","client_secret":"pi_123_secret_abc","metadata":{"orderId":"order-1"}}"#

    func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            var form: [String: String] = [:]
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { PercentEncoding.decode(String($0)) }
                form[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            self.log.withLock { $0.append(Received(method: request.method.rawValue, path: request.uri.path, form: form, headers: headers)) }
            let next: (status: Int, body: String) = self.answers.withLock {
                $0.isEmpty ? (status: 200, body: Self.intent) : $0.removeFirst()
            }
            return Response(
                status: .init(code: next.status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: next.body)))
        }
        router.post("v1/**", use: handler)
        router.get("v1/**", use: handler)
        var logger = Logger(label: "stripe-stand-in")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in try await body("http://127.0.0.1:\(client.port!)") }
    }

    static func gateway(_ base: String) -> StripeGateway {
        StripeGateway(
            httpClient: .shared, secretKey: "sk_test_standin_secret", publishableKey: "pk_test_standin", webhookSecret: "whsec_x",
            apiBase: base, retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5)))
    }
}

@Suite("Stripe gateway (stand-in: exact requests, 429 and 500)")
struct StripeGatewayStandInTests {
    @Test func createSendsTheFormTheKeyAndTheIdempotencyKey() async throws {
        let stripe = StripeStandIn()
        let payment = try await stripe.run { base in
            try await StripeStandIn.gateway(base).createPayment(
                orderId: "order-1", amount: 2500, currency: "USD", idempotencyKey: "pay-order-1-1")
        }
        #expect(
            payment
                == GatewayPayment(
                    id: "pi_123", provider: .stripe, status: .requiresPaymentMethod, amount: 2500, currency: "USD",
                    clientSecret: "pi_123_secret_abc",
                    orderId: "order-1"))
        let request = try #require(stripe.received.first)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/payment_intents")
        #expect(request.form == ["amount": "2500", "currency": "usd", "metadata[orderId]": "order-1", "payment_method_types[]": "card"])
        #expect(request.headers["authorization"] == "Bearer sk_test_standin_secret")
        #expect(request.headers["idempotency-key"] == "pay-order-1-1")
        #expect(request.headers["content-type"] == "application/x-www-form-urlencoded")
    }

    /// With Stripe's own API the PaymentIntent carries the order's shipping name and address; localstripe refuses the
    /// parameter, so only this stand-in sees it (and the localstripe tests below run without it).
    @Test func createSendsTheShippingAddressToStripe() async throws {
        let stripe = StripeStandIn()
        let address = Address(
            name: "Ada Lovelace", line1: "1 Main St", line2: "Apt 4", city: "San Francisco", region: "CA", postalCode: "94105",
            country: "US",
            phone: "+1 415 555 0100")
        _ = try await stripe.run { base in
            let gateway = StripeGateway(
                httpClient: .shared, secretKey: "sk_test_standin_secret", publishableKey: nil, webhookSecret: "whsec_x", apiBase: base,
                sendsShipping: true)
            return try await gateway.createPayment(
                orderId: "order-1", amount: 3610, currency: "USD", shipping: address, idempotencyKey: "pay-order-1-1")
        }
        let form = try #require(stripe.received.first).form
        #expect(form["shipping[name]"] == "Ada Lovelace")
        #expect(form["shipping[address][line1]"] == "1 Main St")
        #expect(form["shipping[address][line2]"] == "Apt 4")
        #expect(form["shipping[address][city]"] == "San Francisco")
        #expect(form["shipping[address][state]"] == "CA")
        #expect(form["shipping[address][postal_code]"] == "94105")
        #expect(form["shipping[address][country]"] == "US")
        #expect(form["shipping[phone]"] == "+1 415 555 0100")
        #expect(form["amount"] == "3610")
        // Another API base (localstripe's) gets none by default.
        let plain = StripeStandIn()
        _ = try await plain.run { base in
            try await StripeStandIn.gateway(base).createPayment(
                orderId: "o", amount: 1, currency: "USD", shipping: address, idempotencyKey: "k")
        }
        #expect(try #require(plain.received.first).form.keys.contains { $0.hasPrefix("shipping") } == false)
    }

    @Test(arguments: [
        (429, #"{"error":{"type":"rate_limit_error","message":"Too many requests"}}"#),
        (500, #"{"error":{"type":"api_error","message":"Something went wrong"}}"#),
    ])
    func rateLimitsAndServerErrorsAreRetriedWithTheSameKey(_ status: Int, _ body: String) async throws {
        let stripe = StripeStandIn()
        stripe.answer(status, body)
        let payment = try await stripe.run { base in
            try await StripeStandIn.gateway(base).createPayment(
                orderId: "order-1", amount: 2500, currency: "USD", idempotencyKey: "pay-order-1-1")
        }
        #expect(payment.id == "pi_123")
        #expect(stripe.received.count == 2)
        #expect(
            stripe.received.map { $0.headers["idempotency-key"] } == ["pay-order-1-1", "pay-order-1-1"],
            "a retry repeats the key, so Stripe applies it once")
    }

    @Test func serverErrorsThatLastAreUnavailable() async throws {
        let stripe = StripeStandIn()
        for _ in 0..<3 { stripe.answer(503, #"{"error":{"type":"api_error","message":"down"}}"#) }
        await #expect {
            _ = try await stripe.run { base in
                try await StripeStandIn.gateway(base).refund(paymentId: "pi_123", amount: 100, idempotencyKey: "refund-pi_123")
            }
        } throws: { error in
            if case .unavailable = error as? PaymentError { return true }
            return false
        }
        #expect(stripe.received.count == 3)
    }

    @Test func cardErrorsKeepTheirDeclineCode() async throws {
        let stripe = StripeStandIn()
        stripe.answer(
            402,
            #"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#
        )
        await #expect(
            throws: PaymentError.cardDeclined(
                code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds.")
        ) {
            _ = try await stripe.run { base in try await StripeStandIn.gateway(base).retrievePayment(id: "pi_123") }
        }
        #expect(stripe.received.count == 1, "a decline is an answer, not a failure to retry")
    }

    @Test func invalidRequestsAreNotRetried() async throws {
        let stripe = StripeStandIn()
        stripe.answer(
            400, #"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_intent: 'pi_x'"}}"#)
        await #expect(throws: PaymentError.invalidRequest(code: "resource_missing", message: "No such payment_intent: 'pi_x'")) {
            _ = try await stripe.run { base in try await StripeStandIn.gateway(base).cancelPayment(id: "pi_x") }
        }
        #expect(stripe.received.map(\.path) == ["/v1/payment_intents/pi_x/cancel"])
        #expect(stripe.received.first?.headers["idempotency-key"] == "cancel-pi_x")
    }

    @Test func refundsAndCancelsSendWhatStripeExpects() async throws {
        let stripe = StripeStandIn()
        stripe.answer(200, #"{"id":"re_1","object":"refund","amount":700,"payment_intent":"pi_123","charge":"ch_9","status":"pending"}"#)
        // The total refunded is the charge's, as Stripe counts it: 300 refunded in the dashboard before, plus these 700.
        stripe.answer(
            200, #"{"id":"ch_9","object":"charge","amount":1000,"currency":"usd","payment_intent":"pi_123","amount_refunded":1000}"#)
        let refund = try await stripe.run { base in
            try await StripeStandIn.gateway(base).refund(paymentId: "pi_123", amount: 700, idempotencyKey: "refund-pi_123")
        }
        #expect(refund == GatewayRefund(id: "re_1", paymentId: "pi_123", amount: 700, status: .pending, refundedTotal: 1000))
        let request = try #require(stripe.received.first)
        #expect(request.path == "/v1/refunds")
        #expect(request.form == ["payment_intent": "pi_123", "amount": "700"])
        #expect(request.headers["idempotency-key"] == "refund-pi_123")
        #expect(stripe.received.map(\.path) == ["/v1/refunds", "/v1/charges/ch_9"])
    }

    @Test func aRefusedKeyNeverAppearsInTheError() async throws {
        let stripe = StripeStandIn()
        stripe.answer(401, #"{"error":{"type":"authentication_error","message":"Invalid API Key provided: sk_test_****ecret"}}"#)
        await #expect {
            _ = try await stripe.run { base in try await StripeStandIn.gateway(base).retrievePayment(id: "pi_123") }
        } throws: { error in
            guard case .configuration = error as? PaymentError else { return false }
            return !String(describing: error).contains("sk_test_standin_secret")
        }
    }
}

/// The Stripe gateway against localstripe (started by `./scripts/test` as SHOP_TEST_LOCALSTRIPE).
@Suite("Stripe gateway (localstripe)")
struct StripeGatewayLocalstripeTests {
    static var base: String {
        get throws { try TestService.localstripe.endpoint }
    }

    static func gateway() throws -> StripeGateway {
        StripeGateway(
            httpClient: .shared, secretKey: "sk_test_shop", publishableKey: "pk_test_shop", webhookSecret: "whsec_ls", apiBase: try base)
    }

    /// What Stripe.js does in the browser: attach a payment method, then confirm. Returns the HTTP status.
    static func confirmAsBrowser(_ paymentId: String, paymentMethod: String) async throws -> Int {
        for (path, body) in [
            ("/v1/payment_intents/\(paymentId)", "payment_method=\(paymentMethod)"), ("/v1/payment_intents/\(paymentId)/confirm", ""),
        ] {
            var request = HTTPClientRequest(url: try base + path)
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer sk_test_shop")
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            if path.hasSuffix("/confirm") { return Int(response.status.code) }
        }
        return 0
    }

    @Test func createConfirmRetrieveAndRefund() async throws {
        let gateway = try Self.gateway()
        let created = try await gateway.createPayment(
            orderId: "order-ls-1", amount: 2500, currency: "USD", idempotencyKey: "pay-order-ls-1-1")
        #expect(created.id.hasPrefix("pi_"))
        #expect(created.status == .requiresPaymentMethod)
        #expect(created.amount == 2500)
        #expect(created.currency == "USD")
        #expect(created.orderId == "order-ls-1")
        #expect(created.clientSecret.hasPrefix(created.id + "_secret_"))

        #expect(try await Self.confirmAsBrowser(created.id, paymentMethod: "pm_card_visa") == 200)
        let paid = try await gateway.retrievePayment(id: created.id)
        #expect(paid.status == .succeeded)

        let partial = try await gateway.refund(paymentId: created.id, amount: 1000, idempotencyKey: "refund-part-\(created.id)")
        #expect(partial.amount == 1000)
        let rest = try await gateway.refund(paymentId: created.id, amount: 1500, idempotencyKey: "refund-\(created.id)")
        #expect(rest.amount == 1500)
        #expect(rest.paymentId == created.id)
    }

    @Test func cancel() async throws {
        let gateway = try Self.gateway()
        let created = try await gateway.createPayment(
            orderId: "order-ls-2", amount: 900, currency: "EUR", idempotencyKey: "pay-order-ls-2-1")
        let cancelled = try await gateway.cancelPayment(id: created.id)
        #expect(cancelled.status == .canceled)
        #expect(try await gateway.retrievePayment(id: created.id).status == .canceled)
    }

    @Test func aDeclineIsRecordedOnThePayment() async throws {
        let gateway = try Self.gateway()
        let created = try await gateway.createPayment(
            orderId: "order-ls-3", amount: 700, currency: "USD", idempotencyKey: "pay-order-ls-3-1")
        #expect(try await Self.confirmAsBrowser(created.id, paymentMethod: "pm_card_chargeCustomerFail") == 402)
        let declined = try await gateway.retrievePayment(id: created.id)
        #expect(declined.status == .requiresPaymentMethod)
        #expect(declined.failureCode == "card_declined")
    }

    @Test func unknownPaymentsAreInvalidRequests() async throws {
        await #expect {
            _ = try await Self.gateway().retrievePayment(id: "pi_doesnotexist")
        } throws: { error in
            if case .invalidRequest = error as? PaymentError { return true }
            return false
        }
    }
}
