import Foundation
import GRDB
import ShopDomain
import ShopStorage

extension OrderEventRecord {
    init(row: Row) throws {
        let type: String = row["type"]
        guard let type = OrderEventType(rawValue: type) else { throw StorageError.backend("malformed event row: type '\(type)'") }
        self.init(
            orderId: row["order_id"], userId: row["user_id"], key: row["key"], type: type, occurredAt: Date(millis: row["occurred_at"]),
            status: (row["status"] as String?).flatMap(OrderStatus.init(rawValue:)),
            cancelledBy: (row["cancelled_by"] as String?).flatMap(CancelledBy.init(rawValue:)),
            previousStatus: (row["previous_status"] as String?).flatMap(OrderStatus.init(rawValue:)),
            refundAmount: row["refund_amount"], refundedTotal: row["refunded_total"])
    }
}

extension EventDelivery {
    init(row: Row) throws {
        let status: String = row["status"]
        guard let status = DeliveryStatus(rawValue: status) else {
            throw StorageError.backend("malformed delivery row: status '\(status)'")
        }
        self.init(
            name: row["name"], recipient: row["recipient"], status: status, attempts: row["attempts"], lastError: row["last_error"],
            nextAttemptAt: (row["next_attempt_at"] as Int64?).map(Date.init(millis:)), createdAt: Date(millis: row["created_at"]))
    }
}

extension SQLiteStore: OutboxStore {
    public func orderEvents(orderId: String) async throws(StorageError) -> [StoredEvent] {
        try await read { db in
            let events = try Row.fetchAll(db, cached: "SELECT * FROM order_events WHERE order_id = ? ORDER BY key", arguments: [orderId])
            let deliveries = try Row.fetchAll(
                db, cached: "SELECT * FROM event_deliveries WHERE order_id = ? ORDER BY key, name", arguments: [orderId])
            let byKey = Dictionary(
                grouping: try deliveries.map { (key: $0["key"] as String, delivery: try EventDelivery(row: $0)) }, by: \.key)
            return try events.map { row in
                let record = try OrderEventRecord(row: row)
                return StoredEvent(
                    record: record, dispatched: (row["dispatched"] as Int) != 0, deliveries: byKey[record.key]?.map(\.delivery) ?? [])
            }
        }
    }

    public func undispatchedEvents(limit: Int) async throws(StorageError) -> [StoredEvent] {
        try await read { db in
            try Row.fetchAll(db, cached: "SELECT * FROM order_events WHERE dispatched = 0 ORDER BY seq LIMIT ?", arguments: [limit])
                .map { StoredEvent(record: try OrderEventRecord(row: $0), dispatched: false, deliveries: []) }
        }
    }

    public func dispatchEvent(orderId: String, key: String, deliveries: [EventDelivery], at now: Date) async throws(StorageError) -> Bool {
        try await write { db in
            try db.run(
                sql: "UPDATE order_events SET dispatched = 1 WHERE order_id = ? AND key = ? AND dispatched = 0", arguments: [orderId, key])
            guard db.changesCount == 1 else {
                guard
                    try Bool.fetchOne(
                        db.cachedStatement(sql: "SELECT 1 FROM order_events WHERE order_id = ? AND key = ?"), arguments: [orderId, key])
                        == true
                else { throw StorageError.notFound }
                return false
            }
            for d in deliveries {
                try Self.insert(d, orderId: orderId, key: key, in: db)
            }
            return true
        }
    }

    public func dueDeliveries(now: Date, limit: Int) async throws(StorageError) -> [DueDelivery] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                cached: """
                    SELECT d.*, e.user_id, e.type, e.occurred_at, e.status AS event_status, e.cancelled_by, e.previous_status,
                        e.refund_amount, e.refunded_total
                    FROM event_deliveries d JOIN order_events e ON e.order_id = d.order_id AND e.key = d.key
                    WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.order_id, d.key, d.name LIMIT ?
                    """,
                arguments: [now.millis, limit])
            return try rows.map { row in
                let type: String = row["type"]
                guard let type = OrderEventType(rawValue: type) else { throw StorageError.backend("malformed event row: type '\(type)'") }
                let event = OrderEventRecord(
                    orderId: row["order_id"], userId: row["user_id"], key: row["key"], type: type,
                    occurredAt: Date(millis: row["occurred_at"]),
                    status: (row["event_status"] as String?).flatMap(OrderStatus.init(rawValue:)),
                    cancelledBy: (row["cancelled_by"] as String?).flatMap(CancelledBy.init(rawValue:)),
                    previousStatus: (row["previous_status"] as String?).flatMap(OrderStatus.init(rawValue:)),
                    refundAmount: row["refund_amount"], refundedTotal: row["refunded_total"])
                return DueDelivery(event: event, delivery: try EventDelivery(row: row))
            }
        }
    }

    public func updateDelivery(orderId: String, key: String, expected: EventDelivery, to new: EventDelivery) async throws(StorageError)
        -> Bool
    {
        try await write { db in
            try db.run(
                sql: """
                    UPDATE event_deliveries SET recipient = ?, status = ?, attempts = ?, last_error = ?, next_attempt_at = ?
                    WHERE order_id = ? AND key = ? AND name = ? AND status = ? AND attempts = ?
                    """,
                arguments: [
                    new.recipient, new.status.rawValue, new.attempts, new.lastError, new.nextAttemptAt?.millis, orderId, key, expected.name,
                    expected.status.rawValue, expected.attempts,
                ])
            if db.changesCount == 1 { return true }
            guard
                try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT 1 FROM event_deliveries WHERE order_id = ? AND key = ? AND name = ?"),
                    arguments: [orderId, key, expected.name]) == true
            else { throw StorageError.notFound }
            return false
        }
    }

    static func insert(_ d: EventDelivery, orderId: String, key: String, in db: Database) throws {
        try db.run(
            sql: """
                INSERT INTO event_deliveries (order_id, key, name, recipient, status, attempts, last_error, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(order_id, key, name) DO NOTHING
                """,
            arguments: [
                orderId, key, d.name, d.recipient, d.status.rawValue, d.attempts, d.lastError, d.nextAttemptAt?.millis, d.createdAt.millis,
            ])
    }
}
