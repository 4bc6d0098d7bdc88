import Crypto
import Identity
import Logging
import ShopDomain
import ShopStorage
import ShopSupport
import ShopTelemetry

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a delivery did not go. `permanent` failures (a 5xx from a mail server, an address it refuses) are not retried.
public struct DeliveryFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var permanent: Bool
    public init(_ message: String, permanent: Bool = false) {
        self.message = message
        self.permanent = permanent
    }
    public var description: String { message }
}

/// Sends one email about an order event (ShopMail renders and sends it; the host wires it).
public protocol OrderMailer: Sendable {
    /// Sends `template` for `event` to `to`, with a Message-ID derived from the event id and the template, the same on
    /// every attempt. Returns once the server accepted it (SMTP's 250), so that a send is recorded right after.
    func send(template: String, to: String, event: OrderEvent) async throws(DeliveryFailure)
}

/// POSTs an event to the merchant's webhook, signed (`Shop-Signature`).
public protocol EventWebhookSender: Sendable {
    func post(_ event: OrderEvent, body: [UInt8]) async throws(DeliveryFailure)
}

/// What the outbox sends and how it retries.
public struct OutboxPolicy: Sendable {
    /// Emails go only with a mailer; the webhook only with a sender.
    public var mailer: (any OrderMailer)?
    public var webhook: (any EventWebhookSender)?
    /// The first retry's wait, doubling after each failure (`SHOP_MAIL_RETRY_BASE_SECONDS`,
    /// `SHOP_EVENTS_WEBHOOK_RETRY_BASE_SECONDS`).
    public var mailRetryBase: Duration = .seconds(30)
    public var webhookRetryBase: Duration = .seconds(30)
    /// How long a delivery is retried before it is `failed`.
    public var giveUpAfter: Duration = .seconds(24 * 3600)
    /// How long a worker holds a delivery it is sending: one that died mid-send is tried again after it.
    public var lease: Duration = .seconds(120)
    /// The longest wait between two tries.
    public var maxRetryDelay: Duration = .seconds(6 * 3600)

    public init(mailer: (any OrderMailer)? = nil, webhook: (any EventWebhookSender)? = nil) {
        self.mailer = mailer
        self.webhook = webhook
    }

    /// Nothing is sent: events are still written and shown.
    public static let off = OutboxPolicy()
}

/// The outbox's services: the timeline an order's page shows, planning what each event sends (dispatch), and sending
/// it with retries (delivery). Hosts run `dispatchPending` and `deliverDue` (shop serve's worker; on AWS the `events`
/// function and the sweep).
public struct EventService: Sendable {
    public let outbox: any OutboxStore
    let orders: any OrderStore
    /// The merchant's figures, when the store keeps them from the outbox (DynamoDB): each event is applied at dispatch.
    let stats: (any StatsStore)?
    let clock: WallClock
    public var policy: OutboxPolicy
    let logger: Logger

    public init(
        outbox: any OutboxStore, orders: any OrderStore, stats: (any StatsStore)? = nil, policy: OutboxPolicy = .off,
        clock: WallClock = .system, logger: Logger
    ) {
        self.outbox = outbox
        self.orders = orders
        self.stats = stats?.statsFromOutbox == true ? stats : nil
        self.policy = policy
        self.clock = clock
        self.logger = logger
    }

    // MARK: the timeline

    /// `GET /orders/{id}/events`: the owner or an admin; anyone else gets the same 404 as for the order.
    public func timeline(orderId: String, caller: VerifiedCaller) async throws(APIError) -> [EventView] {
        guard let order = try await mapped(try await orders.order(id: orderId)),
            order.userId == caller.userId || caller.isAdmin
        else { throw .notFound("Order \(orderId)") }
        let events = try await mapped(try await outbox.orderEvents(orderId: orderId))
        return events.map { EventView(stored: $0, order: order, forAdmin: caller.isAdmin) }
    }

    // MARK: dispatch

    /// The event as the API, webhooks and EventBridge show it, with its order as it was then; nil if the order is gone.
    public func event(_ record: OrderEventRecord) async throws(StorageError) -> OrderEvent? {
        try await orders.order(id: record.orderId).map { OrderEvent(record: record, order: $0) }
    }

    /// The event's JSON (the webhook's body, EventBridge's `detail`).
    public static func json(_ event: OrderEvent) -> [UInt8] {
        // Encoding our own value cannot fail.
        (try? Array(JSONCoding.encoder.encode(event))) ?? []
    }

    /// The email template an event sends to the shopper, if any.
    public static func template(for event: OrderEvent) -> String? {
        switch event.type {
        case .placed: nil
        case .paid: "order-confirmation"
        case .fulfilled: "order-shipped"
        case .cancelled: event.data.previousStatus == .paid ? "order-cancelled" : nil
        case .refunded: "order-refunded"
        }
    }

    /// What an event sends under this policy: its email (with a mailer and an address on the order) and the webhook.
    public func plan(_ event: OrderEvent, at now: Date) -> [EventDelivery] {
        var deliveries: [EventDelivery] = []
        if policy.mailer != nil, let template = Self.template(for: event), let to = event.data.order.email {
            deliveries.append(EventDelivery(name: EventDelivery.emailName(template), recipient: to, nextAttemptAt: now, createdAt: now))
        }
        if policy.webhook != nil {
            deliveries.append(EventDelivery(name: EventDelivery.webhookName, recipient: nil, nextAttemptAt: now, createdAt: now))
        }
        return deliveries
    }

    /// Plans one event's deliveries (once: a second call for the same event changes nothing). False if it was
    /// dispatched already.
    @discardableResult
    public func dispatch(_ record: OrderEventRecord) async throws(StorageError) -> Bool {
        let now = clock.now()
        guard let event = try await event(record) else {
            logger.error("event of a missing order; nothing to send", metadata: ["event_id": "\(record.id)"])
            return try await outbox.dispatchEvent(orderId: record.orderId, key: record.key, deliveries: [], at: now)
        }
        // The figures first, once per event (the store's marker): a dispatch that fails after it applies nothing twice.
        try await stats?.applyToStats(record, order: event.data.order)
        return try await outbox.dispatchEvent(orderId: record.orderId, key: record.key, deliveries: plan(event, at: now), at: now)
    }

    /// Dispatches events not dispatched yet, oldest first (`before`: only those that happened before it). `publish`
    /// runs first for each (EventBridge on AWS); an event whose publish fails stays undispatched. Returns how many.
    public func dispatchPending(
        limit: Int = 100, before: Date? = nil, publish: (@Sendable (OrderEvent) async throws -> Void)? = nil
    ) async throws(StorageError) -> Int {
        var count = 0
        for stored in try await outbox.undispatchedEvents(limit: limit) {
            if let before, stored.record.occurredAt >= before { continue }
            if let publish, let event = try await event(stored.record) {
                do { try await publish(event) } catch {
                    logger.error(
                        "could not publish an event; it stays undispatched",
                        metadata: ["event_id": "\(stored.record.id)", "error": "\(error)"])
                    continue
                }
            }
            if try await dispatch(stored.record) { count += 1 }
        }
        return count
    }

    // MARK: delivery

    /// Sends the deliveries that are due, each at most once at a time (claimed by a conditional write), and records
    /// what happened. Returns how many were sent.
    @discardableResult
    /// `until`: no delivery is started after it (a function's invocation ends; what is left stays due for the sweep).
    public func deliverDue(limit: Int = 100, onlyOrder: String? = nil, until: Date? = nil) async throws(StorageError) -> Int {
        let due = try await dueDeliveries(limit: limit, onlyOrder: onlyOrder)
        var sent = 0
        var timelines: [String: [StoredEvent]] = [:]
        for item in due where onlyOrder == nil || item.event.orderId == onlyOrder {
            if let until, Date() >= until { break }
            if item.delivery.isWebhook {
                // Events of one order reach the webhook in order: wait while an earlier one is still on its way.
                if timelines[item.event.orderId] == nil {
                    timelines[item.event.orderId] = try await outbox.orderEvents(orderId: item.event.orderId)
                }
                let earlier = (timelines[item.event.orderId] ?? []).filter { $0.record.key < item.event.key }
                let waiting = earlier.contains { stored in
                    !stored.dispatched || stored.deliveries.contains { $0.isWebhook && $0.status == .pending }
                }
                if waiting {
                    var later = item.delivery
                    later.nextAttemptAt = clock.now().addingTimeInterval(min(max(policy.webhookRetryBase.seconds, 1), 60))
                    _ = try await outbox.updateDelivery(
                        orderId: item.event.orderId, key: item.event.key, expected: item.delivery, to: later)
                    continue
                }
            }
            if try await deliver(item) {
                sent += 1
                timelines[item.event.orderId] = nil
            }
        }
        return sent
    }

    /// What is due now: store-wide from the due index, or one order's from its own events (one query; the store-wide
    /// list on a busy store might not reach that order's deliveries within `limit`).
    func dueDeliveries(limit: Int, onlyOrder: String?) async throws(StorageError) -> [DueDelivery] {
        let now = clock.now()
        guard let onlyOrder else { return try await outbox.dueDeliveries(now: now, limit: limit) }
        var due: [DueDelivery] = []
        for stored in try await outbox.orderEvents(orderId: onlyOrder) {
            for delivery in stored.deliveries where delivery.status == .pending && (delivery.nextAttemptAt.map { $0 <= now } ?? false) {
                due.append(DueDelivery(event: stored.record, delivery: delivery))
            }
        }
        return Array(
            due.sorted {
                ($0.delivery.nextAttemptAt ?? now, $0.event.key, $0.delivery.name) < (
                    $1.delivery.nextAttemptAt ?? now, $1.event.key, $1.delivery.name
                )
            }
            .prefix(limit))
    }

    /// Claims one delivery, sends it and records the outcome. True if it went.
    func deliver(_ item: DueDelivery) async throws(StorageError) -> Bool {
        let now = clock.now()
        var claimed = item.delivery
        claimed.attempts += 1
        claimed.nextAttemptAt = now.addingTimeInterval(policy.lease.seconds)
        guard try await outbox.updateDelivery(orderId: item.event.orderId, key: item.event.key, expected: item.delivery, to: claimed) else {
            return false  // another worker has it
        }
        let outcome: Result<Void, DeliveryFailure>
        if let event = try await event(item.event) {
            outcome = await send(item.delivery, event: event)
        } else {
            outcome = .failure(DeliveryFailure("the order no longer exists", permanent: true))
        }
        let after = clock.now()
        var done = claimed
        switch outcome {
        case .success:
            done.status = .sent
            ShopMetrics.eventDelivery(webhook: item.delivery.isWebhook, outcome: "sent")
            done.lastError = nil
            done.nextAttemptAt = nil
            logger.info(
                "event delivery sent",
                metadata: ["event_id": "\(item.event.id)", "delivery": "\(item.delivery.name)", "attempts": "\(claimed.attempts)"])
        case .failure(let failure):
            done.lastError = String(failure.message.prefix(500))
            let base = item.delivery.isWebhook ? policy.webhookRetryBase : policy.mailRetryBase
            let delay = min(base.seconds * Double(1 << min(claimed.attempts - 1, 30)), policy.maxRetryDelay.seconds)
            if failure.permanent || after.timeIntervalSince(claimed.createdAt) >= policy.giveUpAfter.seconds {
                done.status = .failed
                ShopMetrics.eventDelivery(webhook: item.delivery.isWebhook, outcome: "gave_up")
                done.nextAttemptAt = nil
                logger.error(
                    "event delivery failed; giving up",
                    metadata: [
                        "event_id": "\(item.event.id)", "delivery": "\(item.delivery.name)", "attempts": "\(claimed.attempts)",
                        "error": "\(failure.message)",
                    ])
            } else {
                done.nextAttemptAt = after.addingTimeInterval(delay)
                ShopMetrics.eventDelivery(webhook: item.delivery.isWebhook, outcome: "retrying")
                logger.warning(
                    "event delivery failed; will retry",
                    metadata: [
                        "event_id": "\(item.event.id)", "delivery": "\(item.delivery.name)", "attempts": "\(claimed.attempts)",
                        "retry_in_s": "\(Int(delay))", "error": "\(failure.message)",
                    ])
            }
        }
        _ = try await outbox.updateDelivery(orderId: item.event.orderId, key: item.event.key, expected: claimed, to: done)
        return done.status == .sent
    }

    func send(_ delivery: EventDelivery, event: OrderEvent) async -> Result<Void, DeliveryFailure> {
        do throws(DeliveryFailure) {
            if delivery.isWebhook {
                guard let webhook = policy.webhook else { throw DeliveryFailure("no webhook is configured any more", permanent: true) }
                try await webhook.post(event, body: Self.json(event))
            } else if let template = delivery.template, let to = delivery.recipient {
                guard let mailer = policy.mailer else { throw DeliveryFailure("mail is turned off", permanent: true) }
                try await mailer.send(template: template, to: to, event: event)
            } else {
                throw DeliveryFailure("unknown delivery \(delivery.name)", permanent: true)
            }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// `shop mail resend --event ID`: the event's emails become due now (planned first if the event was not dispatched
    /// yet), and are sent. Returns how many went; `.notFound` for an unknown event.
    public func resendEmails(eventId: String) async throws(StorageError) -> Int {
        guard let (orderId, key) = OrderEventRecord.parse(id: eventId) else { throw .notFound }
        guard var stored = try await outbox.orderEvents(orderId: orderId).first(where: { $0.record.key == key }) else { throw .notFound }
        if !stored.dispatched {
            try await dispatch(stored.record)
            stored = try await outbox.orderEvents(orderId: orderId).first(where: { $0.record.key == key }) ?? stored
        }
        let now = clock.now()
        for delivery in stored.deliveries where delivery.template != nil {
            var again = delivery
            again.status = .pending
            again.nextAttemptAt = now
            again.createdAt = now
            again.lastError = nil
            _ = try await outbox.updateDelivery(orderId: orderId, key: key, expected: delivery, to: again)
        }
        var sent = 0
        for item in try await dueDeliveries(limit: 1000, onlyOrder: orderId) where item.event.key == key && item.delivery.template != nil {
            if try await deliver(item) { sent += 1 }
        }
        return sent
    }
}

/// One event of `GET /orders/{id}/events`: the event, and the state of what it sends.
public struct EventView: Sendable, Encodable {
    public var event: OrderEvent
    public var emails: [Email]
    public var webhook: Webhook?

    public struct Email: Sendable, Encodable {
        public var template: String
        public var to: String
        public var status: DeliveryStatus
        public var attempts: Int
        /// Admins only.
        public var lastError: String??

        enum CodingKeys: String, CodingKey { case template, to, status, attempts, lastError }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(template, forKey: .template)
            try c.encode(to, forKey: .to)
            try c.encode(status, forKey: .status)
            try c.encode(attempts, forKey: .attempts)
            if let lastError { try c.encode(lastError, forKey: .lastError) }
        }
    }

    public struct Webhook: Sendable, Encodable {
        public var status: DeliveryStatus
        public var attempts: Int
        public var lastError: String?

        enum CodingKeys: String, CodingKey { case status, attempts, lastError }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(status, forKey: .status)
            try c.encode(attempts, forKey: .attempts)
            try c.encode(lastError, forKey: .lastError)
        }
    }

    init(stored: StoredEvent, order: Order, forAdmin: Bool) {
        event = OrderEvent(record: stored.record, order: order)
        emails = stored.deliveries.compactMap { d in
            guard let template = d.template else { return nil }
            return Email(
                template: template, to: d.recipient ?? "", status: d.status, attempts: d.attempts,
                lastError: forAdmin ? .some(d.lastError) : nil)
        }
        webhook =
            forAdmin
            ? stored.deliveries.first(where: \.isWebhook).map { Webhook(status: $0.status, attempts: $0.attempts, lastError: $0.lastError) }
            : nil
    }

    enum CodingKeys: String, CodingKey { case emails, webhook }

    public func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(emails, forKey: .emails)
        if let webhook { try c.encode(webhook, forKey: .webhook) }
    }
}

/// `Shop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as Stripe signs its webhooks, so a
/// receiver verifies it the same way (docs/EVENTS.md).
public enum EventSignature {
    public static func header(secret: [UInt8], body: [UInt8], at time: Date) -> String {
        let t = Int64(time.timeIntervalSince1970)
        var signed = Array("\(t).".utf8)
        signed += body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret))
        return "t=\(t),v1=\(Data(mac).hexEncoded)"
    }
}
