import HTTPTypes
import Identity
import Logging
import Payments
import ShopDomain
import ShopStorage
import ShopSupport
import ShopTelemetry

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What happens to an order's money after it is cancelled (by its owner, an admin or expiry).
public protocol OrderSettlement: Sendable {
    /// Sends the refund a cancelled PAID order owes, or cancels the order's still-open payment.
    func settle(orderId: String) async
}

/// Payments: starting one for an order, the gateway's webhooks, and refunds. Every change to an order is
/// a single conditioned store step (`payOrder`, `transitionOrder`), so webhooks, confirms, cancels and the
/// sweep may arrive in any order and any number of times: the final state is the same, money is refunded
/// at most once (one idempotency key per payment's refund) and no order moves twice.
public struct PaymentService: OrderSettlement {
    let store: any OrderStore & PaymentStore
    public let gateway: any PaymentGateway
    /// Checks the gateway's webhook deliveries.
    let webhooks: WebhookVerifier
    let clock: WallClock
    let logger: Logger
    /// How long a processed event id is remembered (Stripe retries deliveries for up to 3 days).
    let eventMemory: Double = 7 * 24 * 3600

    public init(store: any OrderStore & PaymentStore, gateway: any PaymentGateway, clock: WallClock = .system, logger: Logger) {
        self.store = store
        self.gateway = gateway
        self.webhooks = WebhookVerifier(signature: gateway.webhookSignature)
        self.clock = clock
        self.logger = logger
    }

    /// Starts paying `orderId`, or hands back the payment already open for it.
    public func start(orderId: String, caller: VerifiedCaller) async throws(APIError) -> PaymentRecord {
        guard let order = try await mapped(try await store.order(id: orderId)), order.userId == caller.userId else {
            throw .notFound("Order \(orderId)")
        }
        guard order.status == .pendingPayment else {
            throw APIError(
                .conflict, "order_not_payable", "Only an order waiting for payment can be paid; this one is \(order.status.rawValue).",
                details: .object(["status": .string(order.status.rawValue)]))
        }
        let existing = try await mapped(try await store.payments(orderId: orderId))
        if var open = existing.first(where: { $0.status.isOpen }) {
            // The stored status moves only when the webhook arrives; a repeated start (a reloaded checkout page)
            // answers what the gateway says now, so a page never offers the card form for a payment that went through.
            if let current = try? await gateway.retrievePayment(id: open.id) { open.status = current.status }
            return open
        }
        // Derived from the order and the attempt: two requests racing for the same order get one PaymentIntent.
        let key = "pay-\(orderId)-\(existing.count + 1)"
        let made: GatewayPayment
        do {
            made = try await gateway.createPayment(
                orderId: orderId, amount: order.total, currency: order.currency, shipping: order.shippingAddress, idempotencyKey: key)
        } catch {
            throw Self.apiError(error)
        }
        let now = clock.now()
        let record = PaymentRecord(
            id: made.id, orderId: orderId, userId: order.userId, provider: gateway.provider, status: made.status, amount: made.amount,
            currency: made.currency, clientSecret: made.clientSecret, createdAt: now, updatedAt: now)
        do {
            try await store.createPayment(record)
            return record
        } catch .alreadyExists {
            return try await mapped(try await store.payment(id: made.id)) ?? record
        } catch {
            throw APIError(unexpected: error)
        }
    }

    /// A payment of the caller's own order, for the simulator's card steps: only its owner pays, not an admin (404 otherwise).
    public func ownPayment(id: String, caller: VerifiedCaller) async throws(APIError) -> PaymentRecord {
        guard let payment = try await mapped(try await store.payment(id: id)), payment.userId == caller.userId
        else { throw .notFound("Payment \(id)") }
        return payment
    }

    /// A payment of the caller's own order, or any for an admin (404 otherwise).
    public func payment(id: String, caller: VerifiedCaller) async throws(APIError) -> PaymentRecord {
        guard let payment = try await mapped(try await store.payment(id: id)),
            payment.userId == caller.userId || caller.isAdmin
        else { throw .notFound("Payment \(id)") }
        return payment
    }

    /// The order as the API shows it: with its latest payment.
    public func view(_ order: Order) async throws(APIError) -> OrderView {
        let latest = try await mapped(try await store.payments(orderId: order.id)).first
        return OrderView(order: order, payment: latest.map(PaymentSummary.init))
    }

    // MARK: webhooks

    /// Verifies and applies one webhook delivery. Bad or stale signatures are a 400 and change nothing;
    /// a replayed event, or one of a type the store does not act on, is acknowledged and changes nothing. An event
    /// for a payment the store does not know yet (its record may still be on its way) is a 503 for its first hour,
    /// unrecorded, so the gateway delivers it again; after that it is acknowledged and logged as an error.
    public func receiveWebhook(payload: [UInt8], signature: String?) async throws(APIError) {
        let event: WebhookEvent
        do {
            event = try webhooks.event(payload: payload, header: signature, now: clock.now())
        } catch .malformedEvent(let why) {
            throw APIError.badRequest("invalid_event", "The event is signed but cannot be read: \(why)")
        } catch {
            logger.warning("webhook refused", metadata: ["reason": "\(error)"])
            throw APIError.badRequest("invalid_signature", "The Stripe-Signature header does not verify: \(error).")
        }
        if try await mapped(try await store.eventProcessed(id: event.id)) {
            logger.info("webhook replay ignored", metadata: ["event_id": "\(event.id)", "type": "\(event.type)"])
            return
        }
        try await apply(event)
        let now = clock.now()
        _ = try await mapped(
            try await store.markEventProcessed(id: event.id, at: now, keepUntil: now.addingTimeInterval(eventMemory)))
    }

    func apply(_ event: WebhookEvent) async throws(APIError) {
        guard let kind = event.kind else {
            logger.info("webhook of an unhandled type ignored", metadata: ["event_id": "\(event.id)", "type": "\(event.type)"])
            return
        }
        let now = clock.now()
        guard let paymentId = event.paymentId,
            let payment = try await mapped(try await store.payment(id: paymentId))
        else {
            let age = Int64(now.timeIntervalSince1970) - event.created
            if event.paymentId != nil && age < Int64(Self.unknownPaymentPatience) {
                logger.notice(
                    "webhook for a payment not stored yet; asking for redelivery",
                    metadata: ["event_id": "\(event.id)", "payment_id": "\(event.paymentId ?? "-")", "age_s": "\(age)"])
                throw APIError(
                    .serviceUnavailable, "payment_unknown", "This event's payment is not known here yet; deliver it again later.",
                    headers: [.retryAfter: "60"])
            }
            logger.error(
                "webhook for an unknown payment dropped",
                metadata: ["event_id": "\(event.id)", "payment_id": "\(event.paymentId ?? "-")", "type": "\(event.type)"])
            return
        }
        switch kind {
        case .paymentSucceeded:
            try await succeeded(payment, event: event)
        case .paymentFailed:
            ShopMetrics.paymentFailed(code: event.failureCode)
            _ = try await mapped(
                try await store.updatePayment(
                    id: payment.id, status: event.status ?? .requiresPaymentMethod, failureCode: event.failureCode ?? "payment_failed",
                    failureMessage: event.failureMessage, at: now))
        case .paymentCanceled:
            _ = try await mapped(
                try await store.updatePayment(id: payment.id, status: .canceled, failureCode: nil, failureMessage: nil, at: now))
        case .chargeRefunded:
            if let refunded = event.amountRefunded {
                _ = try await mapped(try await store.recordRefund(paymentId: payment.id, refundedAmount: refunded, at: now))
            }
        case .refundFailed, .refundUpdated:
            guard let status = event.refundStatus, status.didFail, let refundId = event.refundId else { return }
            try await refundFailed(payment, refundId: refundId, amount: event.refundAmount ?? 0, reason: event.failureCode)
            ShopMetrics.refund(sent: false)
        }
    }

    /// A refund the gateway had accepted failed (`refund.failed`, or `charge.refund.updated` to `failed`; Stripe sends
    /// both). Its amount is no longer refunded, and when the shopper is owed the money (a cancelled order, or a payment
    /// its order could not take) it is due again, under a new idempotency key, for the sweep to send.
    func refundFailed(_ payment: PaymentRecord, refundId: String, amount: Int, reason: String?) async throws(APIError) {
        // Once per refund, whichever of the two events comes first. Applied before it is marked, as every event is: a
        // crash in between applies it twice at worst (the refunded total then reads low until the resent refund records
        // the gateway's own total), never loses it (which would leave money owed and not due).
        let marker = "refund-failed:" + refundId
        if try await mapped(try await store.eventProcessed(id: marker)) { return }
        let owed = try await isOwed(payment)
        let now = clock.now()
        let updated = try await mapped(
            try await store.refundFailed(paymentId: payment.id, reversedAmount: amount, owed: owed, at: now))
        _ = try await mapped(
            try await store.markEventProcessed(id: marker, at: now, keepUntil: now.addingTimeInterval(eventMemory)))
        logger.error(
            "refund failed at the gateway",
            metadata: [
                "payment_id": "\(payment.id)", "refund_id": "\(refundId)", "amount": "\(amount)", "reason": "\(reason ?? "-")",
                "refund_due": "\(updated.refundDue)",
            ])
    }

    /// Whether the shopper is owed this payment's money: its order was cancelled, or it is not the payment that paid it.
    func isOwed(_ payment: PaymentRecord) async throws(APIError) -> Bool {
        guard let order = try await mapped(try await store.order(id: payment.orderId)) else { return true }
        if order.status == .cancelled { return true }
        let paidBy = try await mapped(try await store.payingPaymentId(orderId: order.id))
        return payment.status == .succeeded && paidBy != payment.id
    }

    /// How long an event for an unknown payment is refused (so redelivered) before it is dropped, in seconds.
    static let unknownPaymentPatience = 3600

    /// `payment_intent.succeeded`: the order becomes PAID, or, when it cannot take the money, the money goes back.
    func succeeded(_ payment: PaymentRecord, event: WebhookEvent) async throws(APIError) {
        for _ in 0..<3 {
            guard let order = try await mapped(try await store.order(id: payment.orderId)) else { return }
            let paidBy = try await mapped(try await store.payingPaymentId(orderId: order.id))
            let amount = event.amount ?? payment.amount
            let currency = event.currency ?? payment.currency
            let matches = amount == order.total && currency.uppercased() == order.currency.uppercased()
            let decision = PaymentLifecycle.decide(
                .succeeded, orderStatus: order.status, paidByThisPayment: paidBy == payment.id, amountMatches: matches)
            switch decision {
            case .markPaid:
                do {
                    _ = try await store.payOrder(orderId: order.id, paymentId: payment.id, at: clock.now())
                    ShopMetrics.orderPaid()
                    logger.info("order paid", metadata: ["order_id": "\(order.id)", "payment_id": "\(payment.id)"])
                    return
                } catch .invalidTransition {
                    continue  // cancelled or expired meanwhile: decide again on what it is now
                } catch {
                    throw APIError(unexpected: error)
                }
            case .refund(let reason):
                if reason == .amountMismatch {
                    logger.error(
                        "payment does not match its order; refunding",
                        metadata: [
                            "order_id": "\(order.id)", "payment_id": "\(payment.id)", "amount": "\(amount) \(currency)",
                            "order_total": "\(order.total) \(order.currency)",
                        ])
                } else {
                    logger.notice(
                        "payment cannot be taken by its order; refunding",
                        metadata: ["order_id": "\(order.id)", "reason": "\(reason.rawValue)"])
                }
                _ = try await mapped(
                    try await store.updatePayment(
                        id: payment.id, status: .succeeded, failureCode: nil, failureMessage: nil, at: clock.now()))
                _ = try await mapped(try await store.markRefundDue(paymentId: payment.id, at: clock.now()))
                await settle(orderId: order.id)
                return
            case .nothing, .recordOnly:
                return
            }
        }
    }

    // MARK: refunds and cancels

    public func settle(orderId: String) async {
        let payments: [PaymentRecord]
        do {
            payments = try await store.payments(orderId: orderId)
        } catch {
            logger.error("could not read payments to settle", metadata: ["order_id": "\(orderId)", "error": "\(error)"])
            return
        }
        for payment in payments {
            if payment.refundDue > 0 {
                await sendRefund(payment)
            } else if payment.status.isOpen {
                // The order can no longer be paid: close its payment. If it succeeded meanwhile, its webhook refunds it.
                do {
                    let cancelled = try await gateway.cancelPayment(id: payment.id)
                    _ = try? await store.updatePayment(
                        id: payment.id, status: cancelled.status, failureCode: nil, failureMessage: nil, at: clock.now())
                } catch {
                    logger.notice(
                        "could not cancel an open payment; asking the gateway",
                        metadata: ["payment_id": "\(payment.id)", "error": "\(error)"])
                    await reconcile(payment)
                }
            }
        }
    }

    /// The payment could not be cancelled: if the gateway says it succeeded (its webhook may never come),
    /// apply that success now, which refunds it, since the order can no longer take it.
    func reconcile(_ payment: PaymentRecord) async {
        do {
            let current = try await gateway.retrievePayment(id: payment.id)
            guard current.status == .succeeded else { return }
            let event = WebhookEvent(
                id: "reconcile-\(payment.id)", type: WebhookEvent.Kind.paymentSucceeded.rawValue, created: 0, paymentId: payment.id,
                orderId: payment.orderId, amount: current.amount, currency: current.currency, status: .succeeded)
            try await succeeded(payment, event: event)
        } catch {
            logger.error("could not reconcile a payment with the gateway", metadata: ["payment_id": "\(payment.id)", "error": "\(error)"])
        }
    }

    /// The idempotency key of a payment's refund: the payment's own, and a new one after each failed refund (the
    /// gateway would answer the old key with the failed refund again).
    static func refundKey(_ payment: PaymentRecord) -> String {
        payment.refundFailures == 0 ? "refund-\(payment.id)" : "refund-\(payment.id)-\(payment.refundFailures)"
    }

    /// Sends the refund a payment owes. The idempotency key is the payment's own, so however many callers
    /// send it (a cancel, a webhook, the sweep), the gateway refunds once. A failure stays due for the sweep.
    func sendRefund(_ payment: PaymentRecord) async {
        do {
            // Everything not yet refunded, as the gateway counts it (nil): right even when the amount charged
            // differs from the one recorded (an amount mismatch).
            let refund = try await gateway.refund(paymentId: payment.id, amount: nil, idempotencyKey: Self.refundKey(payment))
            if refund.status.didFail {
                // Refused at once: nothing went back. Still due; the next try gets a new key.
                ShopMetrics.refund(sent: false)
                logger.error("refund failed at once; it stays due", metadata: ["payment_id": "\(payment.id)", "refund_id": "\(refund.id)"])
                _ = try await store.refundFailed(paymentId: payment.id, reversedAmount: 0, owed: true, at: clock.now())
                try? await store.deferRefund(paymentId: payment.id, at: clock.now())
                return
            }
            // What the gateway says was refunded in total, never a sum made here: a refund made in the gateway's
            // dashboard meanwhile is counted once, as the gateway counts it.
            _ = try await store.recordRefund(paymentId: payment.id, refundedAmount: refund.refundedTotal, at: clock.now())
            ShopMetrics.refund(sent: true)
            logger.info(
                "refund sent",
                metadata: ["payment_id": "\(payment.id)", "amount": "\(refund.amount)", "status": "\(refund.status.rawValue)"])
        } catch {
            ShopMetrics.refund(sent: false)
            logger.error(
                "refund failed; it stays due and the sweep retries it", metadata: ["payment_id": "\(payment.id)", "error": "\(error)"])
            // To the back of the queue: refunds that keep failing cannot starve the others.
            try? await store.deferRefund(paymentId: payment.id, at: clock.now())
        }
    }

    /// The sweep's part: refunds that are still due.
    public func retryDueRefunds(limit: Int = 50) async throws(APIError) -> Int {
        let due = try await mapped(try await store.paymentsWithRefundDue(limit: limit))
        for payment in due { await sendRefund(payment) }
        return due.count
    }

    static func apiError(_ error: PaymentError) -> APIError {
        switch error {
        case .cardDeclined(let code, let declineCode, let message):
            var details: [String: JSONValue] = [:]
            if let declineCode { details["declineCode"] = .string(declineCode) }
            return APIError(HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), code, message, details: .object(details))
        case .invalidRequest(let code, let message):
            return APIError(.conflict, code ?? "payment_refused", message)
        case .unavailable(let why):
            var error = APIError(
                .serviceUnavailable, "payment_unavailable", "The payment service is unavailable for a moment; try again.",
                headers: [.retryAfter: "2"])
            error.cause = "payments: \(why)"
            return error
        case .configuration(let why):
            var error = APIError.internalError
            error.cause = "payments: \(why)"
            return error
        }
    }
}

/// A payment as an order shows it.
public struct PaymentSummary: Sendable, Encodable, Equatable {
    public var id: String
    public var provider: PaymentProvider
    public var status: PaymentStatus
    public var amount: Int
    public var refundedAmount: Int
    /// Money owed back and not yet refunded (the sweep sends it).
    public var refundDue: Int
    /// A refund of this payment failed at the gateway and is being sent again.
    public var refundFailed: Bool
    public var failureCode: String?

    init(_ record: PaymentRecord) {
        id = record.id
        provider = record.provider
        status = record.status
        amount = record.amount
        refundedAmount = record.refundedAmount
        refundDue = record.refundDue
        refundFailed = record.refundFailures > 0 && record.refundDue > 0
        failureCode = record.failureCode
    }
}

/// An order with its latest payment (`payment` is null before the first `POST /payment`).
public struct OrderView: Sendable, Encodable {
    public var order: Order
    public var payment: PaymentSummary?

    enum CodingKeys: String, CodingKey { case payment }

    public func encode(to encoder: any Encoder) throws {
        try order.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(payment, forKey: .payment)
    }
}
