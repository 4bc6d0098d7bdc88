#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What happened to an order. Each is written by the store in the same atomic step as the change it records (the
/// outbox), so a change that committed always has its event and one that did not has none.
public enum OrderEventType: String, Sendable, Codable, CaseIterable, Hashable {
    case placed = "order.placed"
    case paid = "order.paid"
    case fulfilled = "order.fulfilled"
    case cancelled = "order.cancelled"
    /// The gateway accepted a refund of the order's payment.
    case refunded = "order.refunded"
}

/// Who cancelled an order.
public enum CancelledBy: String, Sendable, Codable, Hashable {
    case shopper, admin, expiry
}

/// An order event as the store keeps it. The order's snapshot is not stored: an order changes only its status, its
/// `updatedAt` and (once fulfilled) its shipment, so the order as it was when the event happened is the current order
/// with the event's status and time (`OrderEvent.init(record:order:)`).
public struct OrderEventRecord: Sendable, Equatable, Hashable {
    public var orderId: String
    public var userId: String
    /// The event's place among its order's events: its keys sort as the events happened (`Key`).
    public var key: String
    public var type: OrderEventType
    public var occurredAt: Date
    /// The order's status right after the event; nil for a refund, which does not change the order (the order is shown
    /// as it stands).
    public var status: OrderStatus?
    /// `order.cancelled`: who cancelled, and the status the order had before (PAID means money goes back).
    public var cancelledBy: CancelledBy?
    public var previousStatus: OrderStatus?
    /// `order.refunded`: what this refund returned, and the payment's refunded total after it.
    public var refundAmount: Int?
    public var refundedTotal: Int?

    public init(
        orderId: String, userId: String, key: String, type: OrderEventType, occurredAt: Date, status: OrderStatus?,
        cancelledBy: CancelledBy? = nil, previousStatus: OrderStatus? = nil, refundAmount: Int? = nil, refundedTotal: Int? = nil
    ) {
        self.orderId = orderId
        self.userId = userId
        self.key = key
        self.type = type
        self.occurredAt = occurredAt
        self.status = status
        self.cancelledBy = cancelledBy
        self.previousStatus = previousStatus
        self.refundAmount = refundAmount
        self.refundedTotal = refundedTotal
    }

    /// `evt_<orderId>_<key>`: derived, so writing an event twice (a retried step) writes the same event.
    public var id: String { Self.id(orderId: orderId, key: key) }

    public static func id(orderId: String, key: String) -> String { "evt_\(orderId)_\(key)" }

    /// The order id and key of an event id; nil for anything that is not one.
    public static func parse(id: String) -> (orderId: String, key: String)? {
        guard id.hasPrefix("evt_"), let cut = id.lastIndex(of: "_") else { return nil }
        let orderId = id[id.index(id.startIndex, offsetBy: 4)..<cut]
        let key = id[id.index(after: cut)...]
        guard !orderId.isEmpty, !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
        return (String(orderId), String(key))
    }

    /// Keys that sort as an order's events happen. The state machine gives at most one of each of the first three;
    /// refunds are told apart by the payment's failed refunds so far and its refunded total, so a refund sent again
    /// after one failed is a new event.
    public enum Key {
        public static let placed = "1"
        public static let paid = "2"
        /// Fulfilled or cancelled: an order is one or the other, once.
        public static let closed = "3"
        public static func refunded(failures: Int, refundedTotal: Int) -> String {
            "4.\(pad(failures, 4)).\(pad(refundedTotal, 12))"
        }

        static func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(max(0, value))
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
    }

    /// The event of a move of the state machine to `to` (`order` is the order after it or before it: only its ids are read).
    public static func transition(order: Order, to: OrderStatus, previous: OrderStatus?, cancelledBy: CancelledBy?, at now: Date)
        -> OrderEventRecord
    {
        let type: OrderEventType =
            switch to {
            case .pendingPayment: .placed
            case .paid: .paid
            case .fulfilled: .fulfilled
            case .cancelled: .cancelled
            }
        let key =
            switch to {
            case .pendingPayment: Key.placed
            case .paid: Key.paid
            case .fulfilled, .cancelled: Key.closed
            }
        return OrderEventRecord(
            orderId: order.id, userId: order.userId, key: key, type: type, occurredAt: now, status: to,
            cancelledBy: to == .cancelled ? (cancelledBy ?? .admin) : nil, previousStatus: to == .cancelled ? previous : nil)
    }

    /// The event of a refund of `payment` (as it is after the refund) that returned `amount`.
    public static func refunded(payment: PaymentRecord, amount: Int, at now: Date) -> OrderEventRecord {
        OrderEventRecord(
            orderId: payment.orderId, userId: payment.userId,
            key: Key.refunded(failures: payment.refundFailures, refundedTotal: payment.refundedAmount), type: .refunded,
            occurredAt: now, status: nil, refundAmount: amount, refundedTotal: payment.refundedAmount)
    }

    public static func placed(_ order: Order) -> OrderEventRecord {
        OrderEventRecord(
            orderId: order.id, userId: order.userId, key: Key.placed, type: .placed, occurredAt: order.createdAt, status: .pendingPayment)
    }
}

/// An order event as the API, webhooks and EventBridge show it (docs/EVENTS.md).
public struct OrderEvent: Sendable, Encodable, Equatable {
    public static let version = 1

    public var id: String
    public var type: OrderEventType
    public var occurredAt: Date
    public var orderId: String
    public var userId: String
    public var data: EventData

    public struct EventData: Sendable, Encodable, Equatable {
        /// The order as the API showed it right after the event.
        public var order: Order
        public var cancelledBy: CancelledBy?
        public var previousStatus: OrderStatus?
        public var refund: Refund?

        enum CodingKeys: String, CodingKey { case order, cancelledBy, previousStatus, refund }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(order, forKey: .order)
            try c.encodeIfPresent(cancelledBy, forKey: .cancelledBy)
            try c.encodeIfPresent(previousStatus, forKey: .previousStatus)
            try c.encodeIfPresent(refund, forKey: .refund)
        }
    }

    public struct Refund: Sendable, Encodable, Equatable {
        public var amount: Int
        public var refundedTotal: Int
        public var currency: String
    }

    /// The event with its order as it was then: the current order's frozen fields, the event's status and time, and the
    /// shipment only from fulfilment on.
    public init(record: OrderEventRecord, order current: Order) {
        var order = current
        if let status = record.status {
            order.status = status
            order.updatedAt = record.occurredAt
            if status != .fulfilled { order.shipment = nil }
        }
        id = record.id
        type = record.type
        occurredAt = record.occurredAt
        orderId = record.orderId
        userId = record.userId
        data = EventData(
            order: order, cancelledBy: record.cancelledBy, previousStatus: record.previousStatus,
            refund: record.refundAmount.map { Refund(amount: $0, refundedTotal: record.refundedTotal ?? $0, currency: current.currency) })
    }

    enum CodingKeys: String, CodingKey { case id, type, version, occurredAt, orderId, userId, data }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(type, forKey: .type)
        try c.encode(Self.version, forKey: .version)
        try c.encode(occurredAt, forKey: .occurredAt)
        try c.encode(orderId, forKey: .orderId)
        try c.encode(userId, forKey: .userId)
        try c.encode(data, forKey: .data)
    }
}

/// Whether a delivery of an event (an email, the webhook) still has to go, went, or gave up.
public enum DeliveryStatus: String, Sendable, Codable, Hashable {
    case pending, sent, failed
}

/// One thing to send for an event: an email with one template to one address, or the event to the webhook.
public struct EventDelivery: Sendable, Equatable, Hashable {
    /// `email:<template>` or `webhook`: unique within its event.
    public var name: String
    /// The email address; nil for the webhook.
    public var recipient: String?
    public var status: DeliveryStatus
    public var attempts: Int
    public var lastError: String?
    /// When a pending delivery is next due (also the lease of one being sent); nil once sent or failed.
    public var nextAttemptAt: Date?
    /// When it was planned: retries stop 24 hours after.
    public var createdAt: Date

    public init(
        name: String, recipient: String?, status: DeliveryStatus = .pending, attempts: Int = 0, lastError: String? = nil,
        nextAttemptAt: Date?, createdAt: Date
    ) {
        self.name = name
        self.recipient = recipient
        self.status = status
        self.attempts = attempts
        self.lastError = lastError
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
    }

    public static let webhookName = "webhook"
    public static func emailName(_ template: String) -> String { "email:\(template)" }

    /// The template of an email delivery.
    public var template: String? { name.hasPrefix("email:") ? String(name.dropFirst(6)) : nil }
    public var isWebhook: Bool { name == Self.webhookName }
}
