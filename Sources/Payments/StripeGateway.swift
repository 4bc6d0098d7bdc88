import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Stripe's REST API: form-encoded requests with `Authorization: Bearer <secret key>`, PaymentIntents
/// and Refunds, an `Idempotency-Key` on every request that creates or moves money. Stripe's errors are
/// mapped: `card_error` (with its `decline_code`), `rate_limit` (retried), `api_error` (retried: every
/// write carries an idempotency key, so a repeat has one effect) and `invalid_request_error`.
public struct StripeGateway: PaymentGateway {
    public let provider = PaymentProvider.stripe
    public let publishableKey: String?
    let httpClient: HTTPClient
    let apiBase: String
    let secretKey: String
    let signature: WebhookSignature
    let retry: RetryPolicy
    let timeout: Duration
    let clock: WallClock
    let logger: Logger
    /// Whether a PaymentIntent carries the order's `shipping`. By default only with Stripe's own API: localstripe,
    /// the tests' stand-in for it, refuses parameters it does not know ("Unexpected shipping").
    let sendsShipping: Bool

    public init(
        httpClient: HTTPClient, secretKey: String, publishableKey: String?, webhookSecret: String,
        apiBase: String = "https://api.stripe.com", retry: RetryPolicy = .default, timeout: Duration = .seconds(20),
        clock: WallClock = .system, logger: Logger = Logger(label: "stripe"), sendsShipping: Bool? = nil
    ) {
        self.httpClient = httpClient
        self.secretKey = secretKey
        self.publishableKey = publishableKey
        self.signature = WebhookSignature(secret: webhookSecret)
        var base = apiBase
        while base.hasSuffix("/") { base.removeLast() }
        self.apiBase = base
        self.retry = retry
        self.timeout = timeout
        self.clock = clock
        self.logger = logger
        self.sendsShipping = sendsShipping ?? (base == "https://api.stripe.com")
    }

    public func createPayment(
        orderId: String, amount: Int, currency: String, shipping: Address?, idempotencyKey: String
    ) async throws(PaymentError) -> GatewayPayment {
        var form = [
            ("amount", String(amount)), ("currency", currency.lowercased()), ("metadata[orderId]", orderId),
            ("payment_method_types[]", "card"),
        ]
        if sendsShipping, let shipping { form += Self.shippingForm(shipping) }
        let intent = try await send(.POST, "/v1/payment_intents", form: form, idempotencyKey: idempotencyKey)
        return try payment(intent)
    }

    /// Stripe's `shipping` hash of a PaymentIntent: the name and address (and phone) the order ships to.
    static func shippingForm(_ a: Address) -> [(String, String)] {
        var form = [("shipping[name]", a.name), ("shipping[address][line1]", a.line1)]
        if let line2 = a.line2 { form.append(("shipping[address][line2]", line2)) }
        form.append(("shipping[address][city]", a.city))
        if let region = a.region { form.append(("shipping[address][state]", region)) }
        form += [("shipping[address][postal_code]", a.postalCode), ("shipping[address][country]", a.country)]
        if let phone = a.phone { form.append(("shipping[phone]", phone)) }
        return form
    }

    public func retrievePayment(id: String) async throws(PaymentError) -> GatewayPayment {
        try payment(try await send(.GET, "/v1/payment_intents/\(PercentEncoding.encode(id))"))
    }

    public func cancelPayment(id: String) async throws(PaymentError) -> GatewayPayment {
        try payment(
            try await send(.POST, "/v1/payment_intents/\(PercentEncoding.encode(id))/cancel", form: [], idempotencyKey: "cancel-\(id)"))
    }

    public func refund(paymentId: String, amount: Int?, idempotencyKey: String) async throws(PaymentError) -> GatewayRefund {
        var form = [("payment_intent", paymentId)]
        if let amount { form.append(("amount", String(amount))) }
        let refund = try await send(.POST, "/v1/refunds", form: form, idempotencyKey: idempotencyKey)
        let status = refund.status.flatMap(RefundStatus.init(rawValue:)) ?? .pending
        // The total comes from the charge, as Stripe counts it (a refund made in the dashboard meanwhile included).
        guard let chargeId = refund.charge else {
            throw .unavailable("Stripe answered a refund without its charge: \(refund.id)")
        }
        let charge = try await send(.GET, "/v1/charges/\(PercentEncoding.encode(chargeId))")
        guard charge.object == "charge", let total = charge.amount_refunded else {
            throw .unavailable("Stripe answered something that is not a charge: \(charge.object) \(charge.id)")
        }
        return GatewayRefund(
            id: refund.id, paymentId: paymentId, amount: refund.amount ?? amount ?? 0, status: status, refundedTotal: total)
    }

    public var webhookSignature: WebhookSignature? { signature }

    // MARK: the wire

    func payment(_ intent: StripeWire.Object) throws(PaymentError) -> GatewayPayment {
        guard intent.object == "payment_intent", let amount = intent.amount, let currency = intent.currency,
            let status = intent.status.flatMap(PaymentStatus.init(rawValue:))
        else { throw .unavailable("Stripe answered something that is not a PaymentIntent: \(intent.object) \(intent.id)") }
        let error = intent.last_payment_error
        return GatewayPayment(
            id: intent.id, provider: .stripe, status: status, amount: amount, currency: currency, clientSecret: intent.client_secret ?? "",
            failureCode: error.flatMap { $0.decline_code ?? $0.code }, failureMessage: error?.message,
            refundedAmount: intent.amount_refunded ?? 0, orderId: intent.metadata?["orderId"])
    }

    struct ErrorBody: Decodable {
        var error: StripeWire.PaymentError
    }

    static func formEncode(_ form: [(String, String)]) -> String {
        form.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
    }

    /// One API call, retried after a 429, a 5xx or a lost answer (every write carries its idempotency key).
    func send(_ method: HTTPMethod, _ path: String, form: [(String, String)]? = nil, idempotencyKey: String? = nil)
        async throws(PaymentError) -> StripeWire.Object
    {
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            attempt += 1
            let failure: PaymentError
            var retryable = false
            do {
                var request = HTTPClientRequest(url: apiBase + path)
                request.method = method
                request.headers.add(name: "Authorization", value: "Bearer \(secretKey)")
                request.headers.add(name: "User-Agent", value: "ServerlessShop/1")
                if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
                if let form {
                    request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                    request.body = .bytes(ByteBuffer(string: Self.formEncode(form)))
                }
                let response = try await httpClient.execute(
                    request, timeout: .nanoseconds(Int64(RetryPolicy.nanoseconds(timeout))), logger: logger)
                let body = Data((try await response.body.collect(upTo: 4 << 20)).readableBytesView)
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
                    do {
                        return try JSONDecoder().decode(StripeWire.Object.self, from: body)
                    } catch {
                        throw PaymentError.unavailable("Stripe answered \(path) with an unreadable body")
                    }
                }
                let error = (try? JSONDecoder().decode(ErrorBody.self, from: body))?.error
                (failure, retryable) = Self.map(status: status, error: error)
            } catch let error as PaymentError {
                throw error
            } catch {
                failure = .unavailable("no answer from Stripe: \(error)")
                retryable = true
            }
            guard retryable, attempt < retry.maxAttempts else {
                // The secret key is never part of a message: only the path and Stripe's own words.
                logger.warning("Stripe call failed", metadata: ["path": "\(path)", "attempts": "\(attempt)", "error": "\(failure)"])
                throw failure
            }
            do { try await Task.sleep(for: retry.delay(beforeRetry: attempt, using: &generator)) } catch { throw .unavailable("cancelled") }
        }
    }

    /// Stripe's error types in our terms, and whether the request may be sent again.
    static func map(status: Int, error: StripeWire.PaymentError?) -> (PaymentError, retryable: Bool) {
        let message = error?.message ?? "Stripe answered HTTP \(status)"
        switch (error?.type, status) {
        case ("card_error", _), (_, 402):
            return (.cardDeclined(code: error?.code ?? "card_declined", declineCode: error?.decline_code, message: message), false)
        case ("rate_limit_error", _), (_, 429):
            return (.unavailable("rate limited: \(message)"), true)
        case ("authentication_error", _), (_, 401):
            return (.configuration("Stripe refused the secret key (authentication_error)"), false)
        case ("invalid_request_error", _) where status < 500, ("idempotency_error", _):
            return (.invalidRequest(code: error?.code, message: message), false)
        case (_, 500...):
            return (.unavailable("api_error: \(message)"), true)
        default:
            return (.invalidRequest(code: error?.code, message: message), false)
        }
    }
}
