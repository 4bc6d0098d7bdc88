import Crypto
import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a webhook was refused. Every case is a 400 and changes nothing.
public enum WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingSignature
    case malformedSignature
    /// No `v1=` entry matches an HMAC of the payload with our secret.
    case signatureMismatch
    /// `t=` is more than the tolerance away from now, in either direction.
    case timestampOutsideTolerance(skewSeconds: Int64)
    /// Signed correctly, but not an event we can read.
    case malformedEvent(String)

    public var description: String {
        switch self {
        case .missingSignature: "no Stripe-Signature header"
        case .malformedSignature: "the Stripe-Signature header has no t= and v1= entries"
        case .signatureMismatch: "no signature matches the payload"
        case .timestampOutsideTolerance(let skew): "the signature's timestamp is \(skew) s from now (tolerance 300 s)"
        case .malformedEvent(let why): "not a readable event: \(why)"
        }
    }
}

/// Webhook deliveries, checked in one place for every gateway: the signature (`Stripe-Signature`) over the raw body,
/// then the event decoded. The payment service holds one, made from its gateway's secret.
public struct WebhookVerifier: Sendable {
    let signature: WebhookSignature?

    public init(signature: WebhookSignature?) {
        self.signature = signature
    }

    public func event(payload: [UInt8], header: String?, now: Date) throws(WebhookError) -> WebhookEvent {
        guard let signature else { throw .malformedEvent("payments are not configured here (SHOP_PAYMENTS=none)") }
        try signature.verify(payload, header: header, now: now)
        return try WebhookEvent.decode(payload)
    }
}

/// Stripe's webhook signature scheme: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
/// with one `v1=` per active secret while a secret is being rotated. Our check is stricter than Stripe's
/// library in one way: a timestamp too far in the future is refused as well as a stale one.
public struct WebhookSignature: Sendable {
    let key: SymmetricKey
    /// Seconds a signature stays valid, both ways.
    public let tolerance: Int64

    public init(secret: String, tolerance: Int64 = 300) {
        key = SymmetricKey(data: Array(secret.utf8))
        self.tolerance = tolerance
    }

    /// The header for `payload` signed at `timestamp`.
    public func header(for payload: [UInt8], timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(signature(payload, timestamp: timestamp))"
    }

    func signature(_ payload: [UInt8], timestamp: Int64) -> String {
        var message = Array(String(timestamp).utf8)
        message.append(UInt8(ascii: "."))
        message += payload
        return HMAC<SHA256>.authenticationCode(for: message, using: key).hexEncoded
    }

    /// Checks the header over the raw bytes, before anything parses them; comparisons are constant-time.
    public func verify(_ payload: [UInt8], header: String?, now: Date) throws(WebhookError) {
        guard let header, !header.isEmpty else { throw .missingSignature }
        var timestamp: Int64?
        var signatures: [String] = []
        for item in header.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = pair[0].trimmingWhitespace()
            let value = pair[1].trimmingWhitespace()
            if name == "t" { timestamp = Int64(value) }
            if name == "v1" { signatures.append(value) }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformedSignature }
        let expected = Array(signature(payload, timestamp: timestamp).utf8)
        guard signatures.contains(where: { Self.constantTimeEqual(Array($0.utf8), expected) }) else { throw .signatureMismatch }
        // Overflow-safe: a signed header may still carry any 64-bit timestamp.
        let (skew, overflow) = Int64(now.timeIntervalSince1970.rounded(.down)).subtractingReportingOverflow(timestamp)
        guard !overflow, skew.magnitude <= tolerance.magnitude else {
            throw .timestampOutsideTolerance(skewSeconds: overflow ? (timestamp > 0 ? Int64.min : Int64.max) : skew)
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// A webhook event, read from Stripe's event JSON (`{id, object: "event", type, created, data: {object}}`).
public struct WebhookEvent: Sendable, Equatable {
    /// The event types the store acts on; others are acknowledged and ignored.
    public enum Kind: String, Sendable, CaseIterable {
        case paymentSucceeded = "payment_intent.succeeded"
        case paymentFailed = "payment_intent.payment_failed"
        case paymentCanceled = "payment_intent.canceled"
        case chargeRefunded = "charge.refunded"
        /// A refund that failed after Stripe accepted it (its object is the Refund).
        case refundFailed = "refund.failed"
        /// A refund's status changed (its object is the Refund); acted on when it is now `failed` or `canceled`.
        case refundUpdated = "charge.refund.updated"
    }

    public var id: String
    public var type: String
    public var created: Int64
    /// The PaymentIntent: `data.object.id`, or `data.object.payment_intent` for a charge.
    public var paymentId: String?
    public var orderId: String?
    public var amount: Int?
    /// Upper-cased.
    public var currency: String?
    public var status: PaymentStatus?
    public var failureCode: String?
    public var failureMessage: String?
    /// `charge.refunded`: everything refunded so far.
    public var amountRefunded: Int?
    /// Refund events: the refund's id, status and amount.
    public var refundId: String?
    public var refundStatus: RefundStatus?
    public var refundAmount: Int?

    public var kind: Kind? { Kind(rawValue: type) }

    public init(
        id: String, type: String, created: Int64, paymentId: String?, orderId: String? = nil, amount: Int? = nil, currency: String? = nil,
        status: PaymentStatus? = nil, failureCode: String? = nil, failureMessage: String? = nil, amountRefunded: Int? = nil,
        refundId: String? = nil, refundStatus: RefundStatus? = nil, refundAmount: Int? = nil
    ) {
        self.id = id
        self.type = type
        self.created = created
        self.paymentId = paymentId
        self.orderId = orderId
        self.amount = amount
        self.currency = currency?.uppercased()
        self.status = status
        self.failureCode = failureCode
        self.failureMessage = failureMessage
        self.amountRefunded = amountRefunded
        self.refundId = refundId
        self.refundStatus = refundStatus
        self.refundAmount = refundAmount
    }

    /// Reads a Stripe event. Only the envelope (`id`, `type`, `created`) is read for a type the store does not act
    /// on (`balance.available`, say, has an object without the fields below): it is acknowledged, whatever it holds.
    public static func decode(_ payload: [UInt8]) throws(WebhookError) -> WebhookEvent {
        let envelope: StripeWire.Envelope
        do {
            envelope = try JSONDecoder().decode(StripeWire.Envelope.self, from: Data(payload))
        } catch {
            throw .malformedEvent("\(error)")
        }
        guard envelope.object == nil || envelope.object == "event" else { throw .malformedEvent("object is \(envelope.object ?? "")") }
        guard let kind = Kind(rawValue: envelope.type) else {
            return WebhookEvent(id: envelope.id, type: envelope.type, created: envelope.created ?? 0, paymentId: nil)
        }
        let wire: StripeWire.Event
        do {
            wire = try JSONDecoder().decode(StripeWire.Event.self, from: Data(payload))
        } catch {
            throw .malformedEvent("\(error)")
        }
        let object = wire.data.object
        let error = object.last_payment_error
        switch kind {
        case .refundFailed, .refundUpdated:
            guard object.object == "refund" else { throw .malformedEvent("\(kind.rawValue) carries a \(object.object), not a refund") }
            return WebhookEvent(
                id: wire.id, type: wire.type, created: wire.created ?? 0, paymentId: object.payment_intent,
                orderId: object.metadata?["orderId"],
                currency: object.currency, failureCode: object.failure_reason, refundId: object.id,
                refundStatus: object.status.flatMap(RefundStatus.init(rawValue:)), refundAmount: object.amount)
        case .paymentSucceeded, .paymentFailed, .paymentCanceled, .chargeRefunded:
            let isCharge = object.object == "charge"
            return WebhookEvent(
                id: wire.id, type: wire.type, created: wire.created ?? 0,
                paymentId: isCharge ? object.payment_intent : object.id, orderId: object.metadata?["orderId"],
                amount: object.amount, currency: object.currency, status: object.status.flatMap(PaymentStatus.init(rawValue:)),
                failureCode: error.flatMap { $0.decline_code ?? $0.code }, failureMessage: error?.message,
                amountRefunded: object.amount_refunded)
        }
    }
}

/// Stripe's JSON shapes, as far as this project reads or writes them (snake_case, as on the wire).
public enum StripeWire {
    public struct PaymentError: Codable, Sendable, Equatable {
        public var type: String?
        public var code: String?
        public var decline_code: String?
        public var message: String?
        public init(type: String? = nil, code: String? = nil, decline_code: String? = nil, message: String? = nil) {
            self.type = type
            self.code = code
            self.decline_code = decline_code
            self.message = message
        }
    }

    /// A PaymentIntent or a Charge: the fields of both that matter here.
    public struct Object: Codable, Sendable, Equatable {
        public var id: String
        public var object: String
        public var amount: Int?
        public var currency: String?
        public var status: String?
        public var client_secret: String?
        public var metadata: [String: String]?
        public var last_payment_error: PaymentError?
        /// Charge only.
        public var payment_intent: String?
        public var amount_refunded: Int?
        public var refunded: Bool?
        /// Refund only: the charge it refunds, and why it failed.
        public var charge: String?
        public var failure_reason: String?

        public init(
            id: String, object: String, amount: Int?, currency: String?, status: String? = nil, client_secret: String? = nil,
            metadata: [String: String]? = nil, last_payment_error: PaymentError? = nil, payment_intent: String? = nil,
            amount_refunded: Int? = nil, refunded: Bool? = nil, charge: String? = nil, failure_reason: String? = nil
        ) {
            self.id = id
            self.object = object
            self.amount = amount
            self.currency = currency
            self.status = status
            self.client_secret = client_secret
            self.metadata = metadata
            self.last_payment_error = last_payment_error
            self.payment_intent = payment_intent
            self.amount_refunded = amount_refunded
            self.refunded = refunded
            self.charge = charge
            self.failure_reason = failure_reason
        }
    }

    /// What every event has, whatever its type.
    public struct Envelope: Decodable, Sendable {
        public var id: String
        public var object: String?
        public var type: String
        public var created: Int64?
    }

    public struct Event: Codable, Sendable, Equatable {
        public struct Data: Codable, Sendable, Equatable {
            public var object: Object
        }
        public var id: String
        public var object: String?
        public var type: String
        public var created: Int64?
        public var data: Data

        public init(id: String, type: String, created: Int64, object: Object) {
            self.id = id
            self.object = "event"
            self.type = type
            self.created = created
            self.data = Data(object: object)
        }
    }
}
