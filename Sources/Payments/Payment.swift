import ShopDomain

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A payment as the gateway knows it: a PaymentIntent. `id` is the PaymentIntent id (`pi_...`), the id
/// webhooks carry in `data.object.id`.
public struct GatewayPayment: Sendable, Codable, Equatable {
    public var id: String
    public var provider: PaymentProvider
    public var status: PaymentStatus
    /// Minor units.
    public var amount: Int
    /// Upper-case ISO 4217, as the store writes it (Stripe answers lower case).
    public var currency: String
    /// What the browser needs to confirm the payment; a secret of the shopper's, never logged.
    public var clientSecret: String
    public var failureCode: String?
    public var failureMessage: String?
    public var refundedAmount: Int
    /// `metadata[orderId]`.
    public var orderId: String?

    public init(
        id: String, provider: PaymentProvider, status: PaymentStatus, amount: Int, currency: String, clientSecret: String,
        failureCode: String? = nil, failureMessage: String? = nil, refundedAmount: Int = 0, orderId: String? = nil
    ) {
        self.id = id
        self.provider = provider
        self.status = status
        self.amount = amount
        self.currency = currency.uppercased()
        self.clientSecret = clientSecret
        self.failureCode = failureCode
        self.failureMessage = failureMessage
        self.refundedAmount = refundedAmount
        self.orderId = orderId
    }
}

/// A Refund's status, as Stripe names them. `pending` and `requires_action` may still end `failed` (Stripe then
/// sends `refund.failed` and `charge.refund.updated`); `failed` and `canceled` gave nothing back.
public enum RefundStatus: String, Sendable, Codable, Equatable {
    case pending, succeeded, failed, canceled
    case requiresAction = "requires_action"

    /// The refund gave nothing back (and never will).
    public var didFail: Bool { self == .failed || self == .canceled }
}

/// A refund the gateway made.
public struct GatewayRefund: Sendable, Equatable {
    public var id: String
    public var paymentId: String
    public var amount: Int
    public var status: RefundStatus
    /// Everything refunded of the payment's charge so far as the gateway counts it (Stripe's `amount_refunded`),
    /// this refund included unless it failed: what the store records, never a sum of its own.
    public var refundedTotal: Int
    public init(id: String, paymentId: String, amount: Int, status: RefundStatus = .succeeded, refundedTotal: Int) {
        self.id = id
        self.paymentId = paymentId
        self.amount = amount
        self.status = status
        self.refundedTotal = refundedTotal
    }
}

/// What can go wrong at the gateway, in Stripe's terms.
public enum PaymentError: Error, Sendable, Equatable {
    /// `card_error`: the card was declined (`code` such as `card_declined`, `declineCode` such as `insufficient_funds`).
    case cardDeclined(code: String, declineCode: String?, message: String)
    /// `invalid_request_error`: a request the gateway refuses (unknown id, wrong state, bad parameter).
    case invalidRequest(code: String?, message: String)
    /// `rate_limit` after the retries, `api_error`, a 5xx or no answer: try again later.
    case unavailable(String)
    /// The gateway was misconfigured (a wrong key: `authentication_error`).
    case configuration(String)
}

/// Payment operations every gateway offers. Each call that creates or moves money takes an idempotency
/// key, so a repeated call (a retry, a race between two of our processes) has one effect.
public protocol PaymentGateway: Sendable {
    var provider: PaymentProvider { get }
    /// What the browser needs to take a card (Stripe's publishable key); nil for the simulator.
    var publishableKey: String? { get }
    /// Creates the PaymentIntent; `shipping` is where the order goes (Stripe uses it for fraud checks and receipts).
    func createPayment(orderId: String, amount: Int, currency: String, shipping: Address?, idempotencyKey: String)
        async throws(PaymentError) -> GatewayPayment
    func retrievePayment(id: String) async throws(PaymentError) -> GatewayPayment
    func cancelPayment(id: String) async throws(PaymentError) -> GatewayPayment
    /// Refunds `amount` (nil: everything not yet refunded).
    func refund(paymentId: String, amount: Int?, idempotencyKey: String) async throws(PaymentError) -> GatewayRefund
    /// The secret its webhooks are signed with (`WebhookVerifier` checks them); nil where payments are not configured.
    var webhookSignature: WebhookSignature? { get }
}

extension PaymentGateway {
    /// A payment without a shipping address.
    public func createPayment(orderId: String, amount: Int, currency: String, idempotencyKey: String) async throws(PaymentError)
        -> GatewayPayment
    {
        try await createPayment(orderId: orderId, amount: amount, currency: currency, shipping: nil, idempotencyKey: idempotencyKey)
    }
}

/// The simulator's own steps, which Stripe.js performs against Stripe: confirming with a card, and
/// the 3-D Secure challenge. Only the simulated gateway offers them.
public protocol PaymentSimulator: Sendable {
    func confirm(paymentId: String, card: CardDetails) async throws(PaymentError) -> GatewayPayment
    func authenticate(paymentId: String, approve: Bool) async throws(PaymentError) -> GatewayPayment
    /// What the simulated gateway holds for a payment: its state and every refund it made.
    func inspect(paymentId: String) async throws(PaymentError) -> SimulatedPayment
}

/// The simulated gateway's view of one payment, for tests and developers.
public struct SimulatedPayment: Sendable, Codable, Equatable {
    public var payment: GatewayPayment
    public var refunds: [Int]
    /// Event types emitted for this payment, oldest first, and how many of them were delivered.
    public var events: [String]
    public var delivered: Int
    public init(payment: GatewayPayment, refunds: [Int], events: [String], delivered: Int) {
        self.payment = payment
        self.refunds = refunds
        self.events = events
        self.delivered = delivered
    }
}
