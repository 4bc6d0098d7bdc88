import Foundation
import GRDB
import ShopDomain
import ShopStorage
import ShopSupport

// MARK: - OrderStore

extension SQLiteStore: OrderStore {
    /// A shopper's orders in one status (orders_by_user_status answers it from the index alone).
    static let openOrderCount = "SELECT COUNT(*) FROM orders WHERE user_id = ? AND status = ?"

    public func placeOrder(_ order: Order, claim: IdempotencyClaim?, maxOpenOrders: Int?, at now: Date) async throws(StorageError)
        -> PlaceOrderOutcome
    {
        let linesJSON = Self.json(lines: order.lines)
        // Written by hand, not by JSONEncoder: placing orders is the store's hottest write (read back by JSONDecoder).
        let addressJSON = order.shippingAddress.map(Self.json(address:))
        let methodJSON = order.shippingMethod.map(Self.json(method:))
        return try await write { db in
            if let claim {
                if let row = try Row.fetchOne(
                    db, cached: "SELECT * FROM idempotency_keys WHERE user_id = ? AND key = ? AND expires_at > ?",
                    arguments: [claim.userId, claim.key, now.millis])
                {
                    return .replayed(Self.idempotencyRecord(row: row))
                }
            }
            if let maxOpenOrders {
                // Counted inside the write transaction: SQLite has one writer, so concurrent orders see each other.
                let open =
                    try Int.fetchOne(
                        db.cachedStatement(sql: Self.openOrderCount),
                        arguments: [order.userId, OrderStatus.pendingPayment.rawValue]) ?? 0
                if open >= maxOpenOrders { throw StorageError.tooManyOpenOrders(limit: maxOpenOrders) }
            }
            var shortages: [StockShortage] = []
            for line in order.lines {
                try db.run(
                    sql: "UPDATE variants SET quantity = quantity - ?1 WHERE product_id = ?2 AND id = ?3 AND quantity >= ?1",
                    arguments: [line.quantity, line.productId, line.variantId])
                if db.changesCount == 0 {
                    guard
                        let available = try Int.fetchOne(
                            db.cachedStatement(sql: "SELECT quantity FROM variants WHERE product_id = ? AND id = ?"),
                            arguments: [line.productId, line.variantId])
                    else {
                        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM products WHERE id = ?"), arguments: [line.productId])
                            == true
                        {
                            throw StorageError.variantNotFound(productId: line.productId, variantId: line.variantId)
                        }
                        throw StorageError.productNotFound(line.productId)
                    }
                    shortages.append(
                        StockShortage(productId: line.productId, variantId: line.variantId, requested: line.quantity, available: available))
                } else {
                    try db.run(sql: "UPDATE products SET quantity = quantity - ? WHERE id = ?", arguments: [line.quantity, line.productId])
                }
            }
            if !shortages.isEmpty { throw StorageError.outOfStock(shortages) }
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM orders WHERE id = ?"), arguments: [order.id]) == true {
                throw StorageError.alreadyExists
            }
            try db.run(
                sql: """
                    INSERT INTO orders (id, user_id, status, total, currency, lines, created_at, updated_at, expires_at,
                        subtotal, shipping_total, shipping_tax, tax_total, shipping_address, shipping_method, email)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    order.id, order.userId, order.status.rawValue, order.total, order.currency, linesJSON,
                    order.createdAt.millis, order.updatedAt.millis, order.expiresAt.millis,
                    order.subtotal, order.shippingTotal, order.shippingTax, order.taxTotal, addressJSON, methodJSON, order.email,
                ])
            try Self.insertEvent(.placed(order), in: db)
            if let claim {
                try db.run(
                    sql: """
                        INSERT OR REPLACE INTO idempotency_keys (user_id, key, request_hash, order_id, expires_at)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                    arguments: [claim.userId, claim.key, claim.requestHash, order.id, claim.expiresAt.millis])
            }
            return .created(order)
        }
    }

    public func idempotencyRecord(userId: String, key: String, at now: Date) async throws(StorageError) -> IdempotencyRecord? {
        try await read { db in
            try Row.fetchOne(
                db, cached: "SELECT * FROM idempotency_keys WHERE user_id = ? AND key = ? AND expires_at > ?",
                arguments: [userId, key, now.millis]
            ).map(Self.idempotencyRecord(row:))
        }
    }

    static func idempotencyRecord(row: Row) -> IdempotencyRecord {
        let claim = IdempotencyClaim(
            userId: row["user_id"], key: row["key"], requestHash: row["request_hash"], expiresAt: Date(millis: row["expires_at"]))
        return IdempotencyRecord(claim: claim, orderId: row["order_id"])
    }

    public func order(id: String) async throws(StorageError) -> Order? {
        try await read { db in try Row.fetchOne(db, cached: "SELECT * FROM orders WHERE id = ?", arguments: [id]).map(Order.init(row:)) }
    }

    public func listOrders(userId: String?, status: OrderStatus?, limit: Int, after: String?) async throws(StorageError) -> Page<Order> {
        let position = try after.map { text throws(StorageError) in try OrderPageKey(text) }
        return try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let userId {
                conditions.append("user_id = ?")
                arguments += [userId]
            }
            if let status {
                conditions.append("status = ?")
                arguments += [status.rawValue]
            }
            if let position {
                conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
                arguments += [position.createdAtMillis, position.createdAtMillis, position.id]
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [limit + 1]
            let rows = try Row.fetchAll(
                db, cached: "SELECT * FROM orders \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?", arguments: arguments)
            let items = try rows.prefix(limit).map(Order.init(row:))
            let next = rows.count > limit ? items.last.map { OrderPageKey(after: $0).text } : nil
            return Page(items: items, nextKey: next)
        }
    }

    public func transitionOrder(
        id: String, from: Set<OrderStatus>, to: OrderStatus, expiredBy: Date?, cancelledBy: CancelledBy?, at now: Date
    ) async throws(StorageError) -> Order {
        try await write { db in
            let previous = try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM orders WHERE id = ?"), arguments: [id])
            let sources = from.map(\.rawValue).sorted()
            var sql =
                "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status IN (\(Array(repeating: "?", count: max(sources.count, 1)).joined(separator: ",")))"
            var arguments: StatementArguments = [to.rawValue, now.millis, id]
            arguments += StatementArguments(sources.isEmpty ? [""] : sources)
            if let expiredBy {
                sql += " AND expires_at <= ?"
                arguments += [expiredBy.millis]
            }
            try db.run(sql: sql, arguments: arguments)
            let changed = db.changesCount
            guard let order = try Row.fetchOne(db, cached: "SELECT * FROM orders WHERE id = ?", arguments: [id]).map(Order.init(row:))
            else {
                throw StorageError.notFound
            }
            guard changed == 1 else { throw StorageError.invalidTransition(current: order.status) }
            try Self.insertEvent(
                OrderEventRecord.transition(
                    order: order, to: to, previous: previous.flatMap(OrderStatus.init(rawValue:)), cancelledBy: cancelledBy, at: now),
                in: db)
            if to.returnsStock {
                let ceiling = Limits.stockRange.upperBound
                for line in order.lines {
                    // A variant (or product) deleted since keeps nothing to return stock to; one restocked to the limit
                    // meanwhile takes back only what fits (more would make every later adjustment fail).
                    guard
                        let stock = try Int.fetchOne(
                            db.cachedStatement(sql: "SELECT quantity FROM variants WHERE product_id = ? AND id = ?"),
                            arguments: [line.productId, line.variantId])
                    else {
                        StockReturn.logGone(orderId: id, line: line)
                        continue
                    }
                    let returned = max(0, min(line.quantity, ceiling - stock))
                    if returned < line.quantity { StockReturn.logDropped(orderId: id, line: line, returned: returned) }
                    if returned > 0 {
                        try db.run(
                            sql: "UPDATE variants SET quantity = quantity + ? WHERE product_id = ? AND id = ?",
                            arguments: [returned, line.productId, line.variantId])
                        try db.run(sql: "UPDATE products SET quantity = quantity + ? WHERE id = ?", arguments: [returned, line.productId])
                    }
                }
            }
            if to == .cancelled,
                let paymentId = try String.fetchOne(db.cachedStatement(sql: "SELECT payment_id FROM orders WHERE id = ?"), arguments: [id])
            {
                // A paid order that is cancelled owes its payment back: due in the same step, sent after it.
                try db.run(
                    sql:
                        "UPDATE payments SET refund_due = amount - refunded_amount, updated_at = ? WHERE id = ? AND refund_due = 0 AND refunded_amount < amount",
                    arguments: [now.millis, paymentId])
            }
            return order
        }
    }

    public func fulfilOrder(id: String, shipment: Shipment, at now: Date) async throws(StorageError) -> Order {
        let shipmentJSON = try Self.json(shipment)
        return try await write { db in
            try db.run(
                sql: "UPDATE orders SET status = ?, shipment = ?, updated_at = ? WHERE id = ? AND status = ?",
                arguments: [OrderStatus.fulfilled.rawValue, shipmentJSON, now.millis, id, OrderStatus.paid.rawValue])
            let changed = db.changesCount
            guard let order = try Row.fetchOne(db, cached: "SELECT * FROM orders WHERE id = ?", arguments: [id]).map(Order.init(row:))
            else {
                throw StorageError.notFound
            }
            guard changed == 1 else { throw StorageError.invalidTransition(current: order.status) }
            try Self.insertEvent(
                OrderEventRecord.transition(order: order, to: .fulfilled, previous: .paid, cancelledBy: nil, at: now), in: db)
            return order
        }
    }

    /// Writes an order event in the caller's transaction; writing the same event again (same order and key) is a no-op.
    static func insertEvent(_ e: OrderEventRecord, in db: Database) throws {
        try db.run(
            sql: """
                INSERT INTO order_events (order_id, key, user_id, type, occurred_at, status, cancelled_by, previous_status,
                    refund_amount, refunded_total)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(order_id, key) DO NOTHING
                """,
            arguments: [
                e.orderId, e.key, e.userId, e.type.rawValue, e.occurredAt.millis, e.status?.rawValue, e.cancelledBy?.rawValue,
                e.previousStatus?.rawValue, e.refundAmount, e.refundedTotal,
            ])
    }

    static func json(address a: Address) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        let fields: [(StaticString, String?)] = [
            ("name", a.name), ("line1", a.line1), ("line2", a.line2), ("city", a.city), ("region", a.region), ("postalCode", a.postalCode),
            ("country", a.country), ("phone", a.phone),
        ]
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in fields {
            guard let value else { continue }
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            key.withUTF8Buffer { JSONEscaping.appendString(String(decoding: $0, as: UTF8.self), to: &bytes) }
            bytes.append(UInt8(ascii: ":"))
            JSONEscaping.appendString(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The lines as `[{"productId":…,"name":…,"unitPrice":…,"quantity":…,"lineTotal":…,"tax":…}]`.
    static func json(lines: [OrderLine]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        bytes.reserveCapacity(128 * lines.count + 2)
        for (index, line) in lines.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += Array("{\"productId\":".utf8)
            JSONEscaping.appendString(line.productId, to: &bytes)
            bytes += Array(",\"variantId\":".utf8)
            JSONEscaping.appendString(line.variantId, to: &bytes)
            if let sku = line.sku {
                bytes += Array(",\"sku\":".utf8)
                JSONEscaping.appendString(sku, to: &bytes)
            }
            if !line.options.isEmpty {
                bytes += Array(",\"options\":{".utf8)
                for (index, key) in line.options.keys.sorted().enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    JSONEscaping.appendString(key, to: &bytes)
                    bytes.append(UInt8(ascii: ":"))
                    JSONEscaping.appendString(line.options[key]!, to: &bytes)
                }
                bytes.append(UInt8(ascii: "}"))
            }
            bytes += Array(",\"name\":".utf8)
            JSONEscaping.appendString(line.name, to: &bytes)
            bytes += Array(
                ",\"unitPrice\":\(line.unitPrice),\"quantity\":\(line.quantity),\"lineTotal\":\(line.lineTotal),\"tax\":\(line.tax)}".utf8)
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func json(method m: OrderShippingMethod) -> String {
        var bytes: [UInt8] = Array("{\"id\":".utf8)
        JSONEscaping.appendString(m.id, to: &bytes)
        bytes += Array(",\"name\":".utf8)
        JSONEscaping.appendString(m.name, to: &bytes)
        bytes += Array(",\"price\":\(m.price),\"minDays\":\(m.minDays),\"maxDays\":\(m.maxDays)}".utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func json(_ value: some Encodable) throws(StorageError) -> String {
        do {
            return try documentJSON(value)
        } catch {
            throw .backend("cannot encode \(type(of: value)): \(error)")
        }
    }

    public func dueOrders(now: Date, limit: Int) async throws(StorageError) -> [Order] {
        try await read { db in
            try Row.fetchAll(
                db, cached: "SELECT * FROM orders WHERE status = ? AND expires_at <= ? ORDER BY expires_at LIMIT ?",
                arguments: [OrderStatus.pendingPayment.rawValue, now.millis, limit]
            ).map(Order.init(row:))
        }
    }

    public func purgeIdempotencyRecords(before now: Date) async throws(StorageError) -> Int {
        try await write { db in
            try db.run(sql: "DELETE FROM idempotency_keys WHERE expires_at <= ?", arguments: [now.millis])
            return db.changesCount
        }
    }
}
