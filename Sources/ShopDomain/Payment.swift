#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which gateway takes the money (`SHOP_PAYMENTS`).
public enum PaymentProvider: String, Sendable, Codable, CaseIterable {
    case simulated, stripe
}

/// Stripe's PaymentIntent statuses; the simulator uses the same.
public enum PaymentStatus: String, Sendable, Codable, CaseIterable {
    case requiresPaymentMethod = "requires_payment_method"
    case requiresConfirmation = "requires_confirmation"
    case requiresAction = "requires_action"
    case processing
    case succeeded
    case canceled

    /// Still able to end in a payment: the same payment is handed out again for its order.
    public var isOpen: Bool { self != .succeeded && self != .canceled }
}

/// The store's record of one payment for an order. The order a payment moved to PAID points back at it;
/// `refundDue` is money owed back to the shopper and not yet refunded (the sweep retries it).
public struct PaymentRecord: Sendable, Codable, Equatable {
    /// The gateway's id (`pi_...`).
    public var id: String
    public var orderId: String
    public var userId: String
    public var provider: PaymentProvider
    public var status: PaymentStatus
    public var amount: Int
    public var currency: String
    public var clientSecret: String
    public var failureCode: String?
    public var failureMessage: String?
    public var refundedAmount: Int
    public var refundDue: Int
    /// Refunds of this payment that failed at the gateway (after it accepted them, or at once); each moves the
    /// next attempt to a new idempotency key, so a retry is a new refund and not a replay of the failed one.
    public var refundFailures: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, orderId: String, userId: String, provider: PaymentProvider, status: PaymentStatus, amount: Int, currency: String,
        clientSecret: String, failureCode: String? = nil, failureMessage: String? = nil, refundedAmount: Int = 0, refundDue: Int = 0,
        refundFailures: Int = 0, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.orderId = orderId
        self.userId = userId
        self.provider = provider
        self.status = status
        self.amount = amount
        self.currency = currency
        self.clientSecret = clientSecret
        self.failureCode = failureCode
        self.failureMessage = failureMessage
        self.refundedAmount = refundedAmount
        self.refundDue = refundDue
        self.refundFailures = refundFailures
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The payment events the order lifecycle reacts to.
public enum PaymentEventKind: String, Sendable, CaseIterable {
    case succeeded, failed, canceled, refunded
}

/// What the store must do with an order and its payment when a payment event arrives. Every cell of the
/// table (each order state against each event) is a test; the store applies the decision atomically,
/// conditioned on the order state it was made from, so a race re-decides rather than double-applies.
public enum PaymentDecision: Sendable, Equatable {
    /// PENDING_PAYMENT → PAID, by this payment.
    case markPaid
    /// Money came in that the order cannot take: give it all back (`reason` is for the log).
    case refund(RefundReason)
    /// The order stays as it is; only the payment's own record changes (a failure, a cancel, a refund).
    case recordOnly
    /// Nothing to do (a replay of what already happened).
    case nothing

    public enum RefundReason: String, Sendable, Equatable {
        /// The amount or currency differs from the order's.
        case amountMismatch = "amount_mismatch"
        /// The order was cancelled (or expired) before the payment succeeded.
        case orderCancelled = "order_cancelled"
        /// The order was already paid by another payment.
        case paidTwice = "paid_twice"
    }
}

public enum PaymentLifecycle {
    /// The decision for `event` on an order in `status`. `paidByThisPayment`: the order's paying payment
    /// is the event's; `amountMatches`: amount and currency (case-insensitive) equal the order's.
    public static func decide(
        _ event: PaymentEventKind, orderStatus status: OrderStatus, paidByThisPayment: Bool, amountMatches: Bool
    ) -> PaymentDecision {
        switch event {
        case .succeeded:
            if paidByThisPayment { return .nothing }
            guard amountMatches else { return .refund(.amountMismatch) }
            switch status {
            case .pendingPayment: return .markPaid
            case .cancelled: return .refund(.orderCancelled)
            case .paid, .fulfilled: return .refund(.paidTwice)
            }
        case .failed, .canceled, .refunded:
            // A failed payment leaves the order payable with another card until it expires.
            return .recordOnly
        }
    }
}
