import Foundation
import GRDB
import ShopDomain
import ShopStorage

extension SQLiteStore: StatsStore {
    public var statsFromOutbox: Bool { false }

    public func stats(from: UTCDay, to: UTCDay) async throws(StorageError) -> StatsFigures {
        let start = from.start.millis
        let end = to.adding(1).start.millis
        return try await read { db in
            var figures = StatsFigures()
            // Each event counts on its own day: placed, paid (with the order's total as revenue), fulfilled, cancelled, and
            // what refunds returned.
            let rows = try Row.fetchAll(
                db,
                cached: """
                    SELECT o.currency AS currency, e.occurred_at / 86400000 AS day, e.type AS type, COUNT(*) AS n,
                        SUM(CASE WHEN e.type = 'order.paid' THEN o.total ELSE 0 END) AS revenue, SUM(COALESCE(e.refund_amount, 0)) AS refunds
                    FROM order_events e JOIN orders o ON o.id = e.order_id
                    WHERE e.occurred_at >= ? AND e.occurred_at < ?
                    GROUP BY o.currency, day, e.type ORDER BY day
                    """,
                arguments: [start, end])
            var days: [String: [Int64: DayFigures]] = [:]
            for row in rows {
                let currency: String = row["currency"]
                let day: Int64 = row["day"]
                let n: Int = row["n"]
                var f = days[currency]?[day] ?? DayFigures(date: UTCDay(number: day).description)
                switch OrderEventType(rawValue: row["type"]) {
                case .placed?: f.placed += n
                case .paid?:
                    f.paid += n
                    f.revenue += row["revenue"] as Int
                case .fulfilled?: f.fulfilled += n
                case .cancelled?: f.cancelled += n
                case .refunded?: f.refunds += row["refunds"] as Int
                case nil: break
                }
                days[currency, default: [:]][day] = f
            }
            figures.days = days.mapValues { byDay in byDay.keys.sorted().compactMap { byDay[$0] } }
            // What each product sold in the orders paid in the period.
            let sold = try Row.fetchAll(
                db,
                cached: """
                    SELECT o.currency AS currency, json_extract(l.value, '$.productId') AS product_id, MAX(json_extract(l.value, '$.name')) AS name,
                        SUM(json_extract(l.value, '$.quantity')) AS units, SUM(json_extract(l.value, '$.lineTotal')) AS revenue
                    FROM order_events e JOIN orders o ON o.id = e.order_id, json_each(o.lines) l
                    WHERE e.type = 'order.paid' AND e.occurred_at >= ? AND e.occurred_at < ?
                    GROUP BY o.currency, product_id
                    """,
                arguments: [start, end])
            for row in sold {
                figures.products[row["currency"] as String, default: []].append(
                    ProductSales(productId: row["product_id"], name: row["name"], units: row["units"], revenue: row["revenue"]))
            }
            return figures
        }
    }

    public func lowStock(below: Int, limit: Int) async throws(StorageError) -> [Product] {
        try reads.products(
            productSQL(ids: "SELECT id FROM products WHERE quantity < ? ORDER BY quantity, id LIMIT ?", order: "p.quantity, p.id"),
            [.int(below), .int(limit)])
    }

    /// The figures are a query: nothing to apply.
    public func applyToStats(_ event: OrderEventRecord, order: Order) async throws(StorageError) {}
}
