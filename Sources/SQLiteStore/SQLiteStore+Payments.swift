import Foundation
import GRDB
import ShopDomain
import ShopStorage

extension PaymentRecord {
    init(row: Row) throws {
        let provider: String = row["provider"]
        let status: String = row["status"]
        guard let provider = PaymentProvider(rawValue: provider), let status = PaymentStatus(rawValue: status) else {
            throw StorageError.backend("malformed payment row \(row["id"] as String? ?? "?")")
        }
        self.init(
            id: row["id"], orderId: row["order_id"], userId: row["user_id"], provider: provider, status: status, amount: row["amount"],
            currency: row["currency"], clientSecret: row["client_secret"], failureCode: row["failure_code"],
            failureMessage: row["failure_message"], refundedAmount: row["refunded_amount"], refundDue: row["refund_due"],
            refundFailures: row["refund_failures"], createdAt: Date(millis: row["created_at"]), updatedAt: Date(millis: row["updated_at"]))
    }
}

extension SQLiteStore: PaymentStore {
    public func createPayment(_ p: PaymentRecord) async throws(StorageError) {
        try await write { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM payments WHERE id = ?"), arguments: [p.id]) == true {
                throw StorageError.alreadyExists
            }
            try db.run(
                sql: """
                    INSERT INTO payments (id, order_id, user_id, provider, status, amount, currency, client_secret, failure_code,
                        failure_message, refunded_amount, refund_due, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    p.id, p.orderId, p.userId, p.provider.rawValue, p.status.rawValue, p.amount, p.currency, p.clientSecret, p.failureCode,
                    p.failureMessage, p.refundedAmount, p.refundDue, p.createdAt.millis, p.updatedAt.millis,
                ])
        }
    }

    public func payment(id: String) async throws(StorageError) -> PaymentRecord? {
        try await read { db in
            try Row.fetchOne(db, cached: "SELECT * FROM payments WHERE id = ?", arguments: [id]).map(PaymentRecord.init(row:))
        }
    }

    public func payments(orderId: String) async throws(StorageError) -> [PaymentRecord] {
        try await read { db in
            try Row.fetchAll(
                db, cached: "SELECT * FROM payments WHERE order_id = ? ORDER BY created_at DESC, id DESC", arguments: [orderId]
            )
            .map(PaymentRecord.init(row:))
        }
    }

    public func updatePayment(
        id: String, status: PaymentStatus, failureCode: String?, failureMessage: String?, at now: Date
    ) async throws(StorageError) -> PaymentRecord {
        try await write { db in
            // A final status stays final, whatever order the events arrive in.
            try db.run(
                sql: """
                    UPDATE payments SET status = ?, failure_code = COALESCE(?, failure_code), failure_message = COALESCE(?, failure_message),
                        updated_at = ?
                    WHERE id = ? AND status NOT IN ('succeeded', 'canceled')
                    """,
                arguments: [status.rawValue, failureCode, failureMessage, now.millis, id])
            guard let row = try Row.fetchOne(db, cached: "SELECT * FROM payments WHERE id = ?", arguments: [id]) else {
                throw StorageError.notFound
            }
            return try PaymentRecord(row: row)
        }
    }

    public func payOrder(orderId: String, paymentId: String, at now: Date) async throws(StorageError) -> Order {
        try await write { db in
            try db.run(
                sql: "UPDATE orders SET status = ?, payment_id = ?, updated_at = ? WHERE id = ? AND status = ?",
                arguments: [OrderStatus.paid.rawValue, paymentId, now.millis, orderId, OrderStatus.pendingPayment.rawValue])
            let changed = db.changesCount
            guard let order = try Row.fetchOne(db, cached: "SELECT * FROM orders WHERE id = ?", arguments: [orderId]).map(Order.init(row:))
            else {
                throw StorageError.notFound
            }
            guard changed == 1 else { throw StorageError.invalidTransition(current: order.status) }
            try db.run(sql: "UPDATE payments SET status = 'succeeded', updated_at = ? WHERE id = ?", arguments: [now.millis, paymentId])
            guard db.changesCount == 1 else { throw StorageError.notFound }
            try Self.insertEvent(
                OrderEventRecord.transition(order: order, to: .paid, previous: .pendingPayment, cancelledBy: nil, at: now), in: db)
            return order
        }
    }

    public func payingPaymentId(orderId: String) async throws(StorageError) -> String? {
        try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT payment_id FROM orders WHERE id = ?"), arguments: [orderId])
        }
    }

    public func markRefundDue(paymentId: String, at now: Date) async throws(StorageError) -> Bool {
        try await write { db in
            try db.run(
                sql:
                    "UPDATE payments SET refund_due = amount - refunded_amount, updated_at = ? WHERE id = ? AND refund_due = 0 AND refunded_amount = 0",
                arguments: [now.millis, paymentId])
            return db.changesCount == 1
        }
    }

    public func recordRefund(paymentId: String, refundedAmount: Int, at now: Date) async throws(StorageError) -> PaymentRecord {
        try await write { db in
            let before = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT refunded_amount FROM payments WHERE id = ?"), arguments: [paymentId])
            try db.run(
                sql: """
                    UPDATE payments SET refund_due = MAX(0, refund_due - (? - refunded_amount)), refunded_amount = ?, updated_at = ?
                    WHERE id = ? AND refunded_amount < ?
                    """,
                arguments: [refundedAmount, refundedAmount, now.millis, paymentId, refundedAmount])
            let changed = db.changesCount
            guard let row = try Row.fetchOne(db, cached: "SELECT * FROM payments WHERE id = ?", arguments: [paymentId]) else {
                throw StorageError.notFound
            }
            let payment = try PaymentRecord(row: row)
            if changed == 1, let before {
                try Self.insertEvent(.refunded(payment: payment, amount: refundedAmount - before, at: now), in: db)
            }
            return payment
        }
    }

    public func refundFailed(paymentId: String, reversedAmount: Int, owed: Bool, at now: Date) async throws(StorageError) -> PaymentRecord {
        try await write { db in
            try db.run(
                sql: """
                    UPDATE payments SET refunded_amount = MAX(0, refunded_amount - ?1),
                        refund_due = CASE WHEN ?2 THEN amount - MAX(0, refunded_amount - ?1) ELSE refund_due END,
                        refund_failures = refund_failures + 1, updated_at = ?3
                    WHERE id = ?4
                    """,
                arguments: [max(0, reversedAmount), owed, now.millis, paymentId])
            guard let row = try Row.fetchOne(db, cached: "SELECT * FROM payments WHERE id = ?", arguments: [paymentId]) else {
                throw StorageError.notFound
            }
            return try PaymentRecord(row: row)
        }
    }

    public func deferRefund(paymentId: String, at now: Date) async throws(StorageError) {
        try await write { db in
            try db.run(sql: "UPDATE payments SET updated_at = ? WHERE id = ? AND refund_due > 0", arguments: [now.millis, paymentId])
        }
    }

    public func paymentsWithRefundDue(limit: Int) async throws(StorageError) -> [PaymentRecord] {
        try await read { db in
            try Row.fetchAll(db, cached: "SELECT * FROM payments WHERE refund_due > 0 ORDER BY updated_at LIMIT ?", arguments: [limit])
                .map(PaymentRecord.init(row:))
        }
    }

    public func eventProcessed(id: String) async throws(StorageError) -> Bool {
        try await read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM processed_events WHERE id = ?"), arguments: [id]) == true
        }
    }

    public func markEventProcessed(id: String, at now: Date, keepUntil: Date) async throws(StorageError) -> Bool {
        try await write { db in
            try db.run(sql: "DELETE FROM processed_events WHERE keep_until <= ?", arguments: [now.millis])
            try db.run(
                sql: "INSERT INTO processed_events (id, processed_at, keep_until) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING",
                arguments: [id, now.millis, keepUntil.millis])
            return db.changesCount == 1
        }
    }
}
