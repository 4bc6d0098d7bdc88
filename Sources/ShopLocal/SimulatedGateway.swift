import AsyncHTTPClient
import Foundation
import GRDB
import Logging
import NIOCore
import Payments
import ServiceLifecycle
import ShopDomain
import ShopSupport
import Synchronization

/// Stripe's test mode, imitated inside `shop serve`: PaymentIntents with Stripe's statuses, its test cards,
/// refunds, and webhooks in Stripe's event format and `Stripe-Signature` scheme, so the same webhook code
/// handles this and Stripe. Its state lives in its own SQLite file (it stands for Stripe's side, not the
/// store's). Every state change and the event announcing it are written in one transaction (an outbox);
/// `WebhookDelivery` sends the events. No card number or CVC is stored or logged.
public final class SimulatedGateway: PaymentGateway, PaymentSimulator, Sendable {
    public let provider = PaymentProvider.simulated
    public let publishableKey: String? = nil
    let database: DatabaseQueue
    let signature: WebhookSignature
    let clock: WallClock
    let logger: Logger
    /// Where events go: `SHOP_PAYMENTS_WEBHOOK_URL`, else this server's own `/payment/webhook` once it listens.
    let webhookURL: Mutex<String?>

    public init(path: String, webhookSecret: String, webhookURL: String?, clock: WallClock = .system, logger: Logger) throws {
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        database = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
        signature = WebhookSignature(secret: webhookSecret)
        self.clock = clock
        self.logger = logger
        self.webhookURL = Mutex(webhookURL)
    }

    /// Sets the delivery address if none was configured (the server's port is known only once it listens).
    public func useDefaultWebhookURL(_ url: String) {
        webhookURL.withLock { if $0 == nil { $0 = url } }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE intents (
                        id TEXT PRIMARY KEY NOT NULL,
                        idempotency_key TEXT NOT NULL UNIQUE,
                        order_id TEXT NOT NULL,
                        amount INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        status TEXT NOT NULL,
                        client_secret TEXT NOT NULL,
                        failure_code TEXT,
                        failure_message TEXT,
                        refunded INTEGER NOT NULL DEFAULT 0,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE refunds (
                        id TEXT PRIMARY KEY NOT NULL,
                        idempotency_key TEXT NOT NULL UNIQUE,
                        intent_id TEXT NOT NULL,
                        amount INTEGER NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE outbox (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        event_id TEXT NOT NULL UNIQUE,
                        intent_id TEXT NOT NULL,
                        type TEXT NOT NULL,
                        body BLOB NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at INTEGER NOT NULL,
                        delivered_at INTEGER,
                        gave_up INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX outbox_pending ON outbox(next_attempt_at) WHERE delivered_at IS NULL AND gave_up = 0;
                    """)
        }
        // A refund can fail after it was accepted, as a bank can refuse one days later (`failRefund`).
        migrator.registerMigration("v2-refund-status") { db in
            try db.execute(sql: "ALTER TABLE refunds ADD COLUMN status TEXT NOT NULL DEFAULT 'succeeded'")
        }
        return migrator
    }

    static func randomId(_ prefix: String, length: Int = 24) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return prefix + String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }

    // MARK: rows

    struct Intent {
        var id: String
        var orderId: String
        var amount: Int
        var currency: String
        var status: PaymentStatus
        var clientSecret: String
        var failureCode: String?
        var failureMessage: String?
        var refunded: Int

        init(row: Row) {
            id = row["id"]
            orderId = row["order_id"]
            amount = row["amount"]
            currency = row["currency"]
            status = PaymentStatus(rawValue: row["status"]) ?? .requiresPaymentMethod
            clientSecret = row["client_secret"]
            failureCode = row["failure_code"]
            failureMessage = row["failure_message"]
            refunded = row["refunded"]
        }

        var payment: GatewayPayment {
            GatewayPayment(
                id: id, provider: .simulated, status: status, amount: amount, currency: currency, clientSecret: clientSecret,
                failureCode: failureCode, failureMessage: failureMessage, refundedAmount: refunded, orderId: orderId)
        }

        /// The PaymentIntent as Stripe's JSON shows it in an event.
        var wire: StripeWire.Object {
            StripeWire.Object(
                id: id, object: "payment_intent", amount: amount, currency: currency.lowercased(), status: status.rawValue,
                client_secret: clientSecret, metadata: ["orderId": orderId],
                last_payment_error: failureCode.map {
                    StripeWire.PaymentError(type: "card_error", code: "card_declined", decline_code: $0, message: failureMessage)
                })
        }
    }

    func intent(_ db: Database, _ id: String) throws(PaymentError) -> Intent {
        do {
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM intents WHERE id = ?", arguments: [id]) else {
                throw PaymentError.invalidRequest(code: "resource_missing", message: "No such payment_intent: '\(id)'")
            }
            return Intent(row: row)
        } catch let error as PaymentError {
            throw error
        } catch {
            throw .unavailable("simulator: \(error)")
        }
    }

    /// Runs `body` in one transaction of the simulator's database.
    func transaction<T>(_ body: @escaping (Database) throws -> T) throws(PaymentError) -> T {
        do {
            return try database.write { db in try body(db) }
        } catch let error as PaymentError {
            throw error
        } catch {
            throw .unavailable("simulator: \(error)")
        }
    }

    /// Writes the event for `intent`'s new state to the outbox, in the caller's transaction.
    func enqueue(_ db: Database, type: String, object: StripeWire.Object, intentId: String) throws {
        let now = clock.now()
        let event = StripeWire.Event(id: Self.randomId("evt_"), type: type, created: Int64(now.timeIntervalSince1970), object: object)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try db.execute(
            sql: "INSERT INTO outbox (event_id, intent_id, type, body, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [event.id, intentId, type, try encoder.encode(event), now.unixMillis])
    }

    func update(_ db: Database, _ intent: Intent) throws {
        try db.execute(
            sql: "UPDATE intents SET status = ?, failure_code = ?, failure_message = ?, refunded = ? WHERE id = ?",
            arguments: [intent.status.rawValue, intent.failureCode, intent.failureMessage, intent.refunded, intent.id])
    }

    // MARK: PaymentGateway

    public func createPayment(
        orderId: String, amount: Int, currency: String, shipping: Address?, idempotencyKey: String
    ) async throws(PaymentError) -> GatewayPayment {
        let now = clock.now()
        return try transaction { db in
            // The same idempotency key gets the same PaymentIntent, as with Stripe.
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM intents WHERE idempotency_key = ?", arguments: [idempotencyKey]) {
                return Intent(row: row).payment
            }
            let id = Self.randomId("pi_")
            try db.execute(
                sql: """
                    INSERT INTO intents (id, idempotency_key, order_id, amount, currency, status, client_secret, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, idempotencyKey, orderId, amount, currency.uppercased(), PaymentStatus.requiresPaymentMethod.rawValue,
                    id + "_secret_" + Self.randomId("", length: 16), now.unixMillis,
                ])
            return try self.intent(db, id).payment
        }
    }

    public func retrievePayment(id: String) async throws(PaymentError) -> GatewayPayment {
        try transaction { db in try self.intent(db, id).payment }
    }

    public func cancelPayment(id: String) async throws(PaymentError) -> GatewayPayment {
        try transaction { db in
            var intent = try self.intent(db, id)
            if intent.status == .canceled { return intent.payment }
            guard intent.status.isOpen else {
                throw PaymentError.invalidRequest(
                    code: "payment_intent_unexpected_state",
                    message: "You cannot cancel this PaymentIntent because it has a status of \(intent.status.rawValue).")
            }
            intent.status = .canceled
            try self.update(db, intent)
            try self.enqueue(db, type: "payment_intent.canceled", object: intent.wire, intentId: id)
            return intent.payment
        }
    }

    public func refund(paymentId: String, amount: Int?, idempotencyKey: String) async throws(PaymentError) -> GatewayRefund {
        let now = clock.now()
        return try transaction { db in
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM refunds WHERE idempotency_key = ?", arguments: [idempotencyKey]) {
                // A replay answers the refund as it is now, and the charge's total as it is now, as Stripe does.
                let intent = try self.intent(db, row["intent_id"])
                return GatewayRefund(
                    id: row["id"], paymentId: row["intent_id"], amount: row["amount"],
                    status: RefundStatus(rawValue: row["status"]) ?? .succeeded, refundedTotal: intent.refunded)
            }
            var intent = try self.intent(db, paymentId)
            guard intent.status == .succeeded else {
                throw PaymentError.invalidRequest(
                    code: "charge_not_captured", message: "This PaymentIntent has not succeeded; there is nothing to refund.")
            }
            let refundable = intent.amount - intent.refunded
            let value = amount ?? refundable
            guard value > 0, value <= refundable else {
                throw PaymentError.invalidRequest(
                    code: "charge_already_refunded",
                    message: "Refund amount (\(value)) is greater than the unrefunded amount (\(refundable)).")
            }
            let id = Self.randomId("re_")
            try db.execute(
                sql: "INSERT INTO refunds (id, idempotency_key, intent_id, amount, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, idempotencyKey, paymentId, value, now.unixMillis])
            intent.refunded += value
            try self.update(db, intent)
            let charge = StripeWire.Object(
                id: "ch_" + intent.id.dropFirst(3), object: "charge", amount: intent.amount, currency: intent.currency.lowercased(),
                status: "succeeded", metadata: ["orderId": intent.orderId], payment_intent: intent.id, amount_refunded: intent.refunded,
                refunded: intent.refunded == intent.amount)
            try self.enqueue(db, type: "charge.refunded", object: charge, intentId: paymentId)
            return GatewayRefund(id: id, paymentId: paymentId, amount: value, status: .succeeded, refundedTotal: intent.refunded)
        }
    }

    /// Fails a refund the simulator had made, as a bank that refuses it later: the charge's refunded total goes
    /// down by its amount, and `refund.failed` and `charge.refund.updated` are sent, as Stripe sends them. For tests
    /// and for trying the refund retry by hand.
    public func failRefund(id: String, reason: String = "expired_or_canceled_card") async throws(PaymentError) {
        try transaction { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM refunds WHERE id = ?", arguments: [id]) else {
                throw PaymentError.invalidRequest(code: "resource_missing", message: "No such refund: '\(id)'")
            }
            guard (row["status"] as String) == RefundStatus.succeeded.rawValue else { return }
            let amount: Int = row["amount"]
            var intent = try self.intent(db, row["intent_id"])
            intent.refunded -= amount
            try self.update(db, intent)
            try db.execute(sql: "UPDATE refunds SET status = 'failed' WHERE id = ?", arguments: [id])
            let refund = StripeWire.Object(
                id: id, object: "refund", amount: amount, currency: intent.currency.lowercased(), status: "failed",
                metadata: ["orderId": intent.orderId], payment_intent: intent.id, charge: "ch_" + intent.id.dropFirst(3),
                failure_reason: reason)
            try self.enqueue(db, type: "refund.failed", object: refund, intentId: intent.id)
            try self.enqueue(db, type: "charge.refund.updated", object: refund, intentId: intent.id)
        }
    }

    /// The ids of a payment's refunds, oldest first (tests fail one with `failRefund`).
    public func refundIds(paymentId: String) async throws(PaymentError) -> [String] {
        try transaction { db in
            try String.fetchAll(db, sql: "SELECT id FROM refunds WHERE intent_id = ? ORDER BY created_at, rowid", arguments: [paymentId])
        }
    }

    public var webhookSignature: WebhookSignature? { signature }

    // MARK: PaymentSimulator

    public func confirm(paymentId: String, card: CardDetails) async throws(PaymentError) -> GatewayPayment {
        let outcome = TestCards.outcome(of: card.number)
        let result: Result<GatewayPayment, PaymentError> = try transaction { db in
            var intent = try self.intent(db, paymentId)
            guard intent.status == .requiresPaymentMethod || intent.status == .requiresConfirmation else {
                throw PaymentError.invalidRequest(
                    code: "payment_intent_unexpected_state",
                    message: "This PaymentIntent's status is \(intent.status.rawValue); it cannot be confirmed.")
            }
            switch outcome {
            case .succeeds:
                intent.status = .succeeded
                intent.failureCode = nil
                intent.failureMessage = nil
                try self.update(db, intent)
                try self.enqueue(db, type: "payment_intent.succeeded", object: intent.wire, intentId: paymentId)
                return .success(intent.payment)
            case .requiresAction:
                intent.status = .requiresAction
                try self.update(db, intent)
                try self.enqueue(db, type: "payment_intent.requires_action", object: intent.wire, intentId: paymentId)
                return .success(intent.payment)
            case .declined(let declineCode, let message):
                intent.status = .requiresPaymentMethod
                intent.failureCode = declineCode
                intent.failureMessage = message
                try self.update(db, intent)
                try self.enqueue(db, type: "payment_intent.payment_failed", object: intent.wire, intentId: paymentId)
                return .failure(.cardDeclined(code: "card_declined", declineCode: declineCode, message: message))
            }
        }
        logger.info("simulator confirm", metadata: ["payment_id": "\(paymentId)", "outcome": "\(outcome)"])
        return try result.get()
    }

    public func authenticate(paymentId: String, approve: Bool) async throws(PaymentError) -> GatewayPayment {
        try transaction { db in
            var intent = try self.intent(db, paymentId)
            guard intent.status == .requiresAction else {
                throw PaymentError.invalidRequest(
                    code: "payment_intent_unexpected_state",
                    message: "This PaymentIntent does not wait for authentication (\(intent.status.rawValue)).")
            }
            if approve {
                intent.status = .succeeded
                try self.update(db, intent)
                try self.enqueue(db, type: "payment_intent.succeeded", object: intent.wire, intentId: paymentId)
            } else {
                intent.status = .requiresPaymentMethod
                intent.failureCode = "payment_intent_authentication_failure"
                intent.failureMessage = "The card's issuer could not authenticate the payment."
                try self.update(db, intent)
                try self.enqueue(db, type: "payment_intent.payment_failed", object: intent.wire, intentId: paymentId)
            }
            return intent.payment
        }
    }

    public func inspect(paymentId: String) async throws(PaymentError) -> SimulatedPayment {
        try transaction { db in
            let intent = try self.intent(db, paymentId)
            let refunds = try Int.fetchAll(
                db, sql: "SELECT amount FROM refunds WHERE intent_id = ? AND status = 'succeeded' ORDER BY created_at",
                arguments: [paymentId])
            let events = try String.fetchAll(db, sql: "SELECT type FROM outbox WHERE intent_id = ? ORDER BY seq", arguments: [paymentId])
            let delivered =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM outbox WHERE intent_id = ? AND delivered_at IS NOT NULL", arguments: [paymentId]) ?? 0
            return SimulatedPayment(payment: intent.payment, refunds: refunds, events: events, delivered: delivered)
        }
    }
}

/// Sends the simulator's events, oldest first, as Stripe does: an HTTP POST of the event JSON with a fresh
/// `Stripe-Signature`, retried with backoff (1, 2, 4, 8 s) on a non-2xx answer or a connection error, at
/// most 5 tries. Every try is logged. Events still in the outbox when the process stops are sent after
/// the next start.
public struct WebhookDelivery: Service {
    let gateway: SimulatedGateway
    /// Made on the first delivery, not at start.
    let httpClient: @Sendable () -> HTTPClient
    let maxTries = 5
    let idlePoll: Duration

    public init(
        gateway: SimulatedGateway, httpClient: @autoclosure @escaping @Sendable () -> HTTPClient = .shared,
        idlePoll: Duration = .milliseconds(25)
    ) {
        self.gateway = gateway
        self.httpClient = httpClient
        self.idlePoll = idlePoll
    }

    struct Pending {
        var seq: Int64
        var eventId: String
        var type: String
        var body: [UInt8]
        var attempts: Int
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let sent = await deliverDue()
                if sent == 0 { try? await Task.sleep(for: idlePoll) }
            }
        }
    }

    /// Delivers every event whose time has come; returns how many were tried.
    @discardableResult
    public func deliverDue() async -> Int {
        guard let url = gateway.webhookURL.withLock({ $0 }) else { return 0 }
        let now = gateway.clock.now()
        let due: [Pending]
        do {
            due = try await gateway.database.read { db in
                try Row.fetchAll(
                    db,
                    sql:
                        "SELECT seq, event_id, type, body, attempts FROM outbox WHERE delivered_at IS NULL AND gave_up = 0 AND next_attempt_at <= ? ORDER BY seq LIMIT 50",
                    arguments: [now.unixMillis]
                ).map {
                    Pending(
                        seq: $0["seq"], eventId: $0["event_id"], type: $0["type"], body: Array(($0["body"] as Data)),
                        attempts: $0["attempts"])
                }
            }
        } catch {
            gateway.logger.error("webhook outbox unreadable", metadata: ["error": "\(error)"])
            return 0
        }
        for event in due {
            await deliver(event, to: url)
        }
        return due.count
    }

    func deliver(_ event: Pending, to url: String) async {
        let attempt = event.attempts + 1
        let outcome: String
        var delivered = false
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.headers.add(name: "User-Agent", value: "ServerlessShop-Simulator/1")
            let timestamp = Int64(gateway.clock.now().timeIntervalSince1970)
            request.headers.add(name: "Stripe-Signature", value: gateway.signature.header(for: event.body, timestamp: timestamp))
            request.body = .bytes(ByteBuffer(bytes: event.body))
            let response = try await httpClient().execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 1 << 16)
            delivered = (200..<300).contains(Int(response.status.code))
            outcome = "HTTP \(response.status.code)"
        } catch {
            outcome = "\(error)"
        }
        let now = gateway.clock.now()
        let succeeded = delivered
        let givingUp = !succeeded && attempt >= maxTries
        // 1, 2, 4, 8 s between tries.
        let next = now.unixMillis + Int64(1000 << min(attempt - 1, 4))
        do {
            try await gateway.database.write { db in
                try db.execute(
                    sql: "UPDATE outbox SET attempts = ?, delivered_at = ?, next_attempt_at = ?, gave_up = ? WHERE seq = ?",
                    arguments: [attempt, succeeded ? now.unixMillis : nil, next, givingUp ? 1 : 0, event.seq])
            }
        } catch {
            gateway.logger.error("webhook outbox not updated", metadata: ["event_id": "\(event.eventId)", "error": "\(error)"])
        }
        let metadata: Logger.Metadata = [
            "event_id": "\(event.eventId)", "type": "\(event.type)", "try": "\(attempt)", "outcome": "\(outcome)",
        ]
        if delivered {
            gateway.logger.info("webhook delivered", metadata: metadata)
        } else if givingUp {
            gateway.logger.error("webhook delivery gave up after \(maxTries) tries", metadata: metadata)
        } else {
            gateway.logger.warning("webhook delivery failed; will retry", metadata: metadata)
        }
    }
}
