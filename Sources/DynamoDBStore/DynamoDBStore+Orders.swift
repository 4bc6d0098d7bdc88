import AWSWire
import Crypto
import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension DynamoDBStore: OrderStore {
    static func idempotencyKey(_ claim: IdempotencyClaim) -> String { claim.userId + "#" + claim.key }

    /// At most 36 characters, the same for the same key, order and attempt: DynamoDB then treats a
    /// retried `TransactWriteItems` of the same request as one (for ten minutes).
    static func clientRequestToken(_ claim: IdempotencyClaim, orderId: String, attempt: Int) -> String {
        let digest = SHA256.hash(data: Data((idempotencyKey(claim) + "\n" + orderId + "\n" + String(attempt)).utf8))
        return String(digest.hexEncoded.prefix(36))
    }

    func idempotencyRecord(_ claim: IdempotencyClaim, now: Date) async throws(StorageError) -> IdempotencyRecord? {
        try await idempotencyRecord(userId: claim.userId, key: claim.key, at: now)
    }

    public func idempotencyRecord(userId: String, key: String, at now: Date) async throws(StorageError) -> IdempotencyRecord? {
        let claimKey = IdempotencyClaim(userId: userId, key: key, requestHash: "", expiresAt: now)
        guard let item = try await get(tables.idempotency, ["IdempotencyKey": .s(Self.idempotencyKey(claimKey))]) else { return nil }
        return try Self.decode {
            let r = ItemReader(item: item)
            let expires = Date(unixMillis: try r.int64("ExpiresAt"))
            guard expires > now else { return nil }
            let stored = IdempotencyClaim(userId: userId, key: key, requestHash: try r.string("RequestHash"), expiresAt: expires)
            return IdempotencyRecord(claim: stored, orderId: try r.string("OrderID"))
        }
    }

    /// The item counting a user's PENDING_PAYMENT orders: in the Orders table, without the attributes the
    /// indexes key on, so no listing sees it. Placing adds one, leaving PENDING_PAYMENT takes one, each in
    /// the same transaction as the order's own change.
    static func openCounterKey(_ userId: String) -> Item { ["OrderID": .s("OPEN#" + userId)] }

    func openCounterUpdate(_ userId: String, by delta: Int, below limit: Int? = nil) -> DDBRequest.TransactItem {
        var values: Item = [":d": .int(delta)]
        var condition: String?
        if let limit {
            condition = "attribute_not_exists(OpenOrders) OR OpenOrders < :max"
            values[":max"] = .int(limit)
        }
        return DDBRequest.TransactItem(
            Update: DDBRequest(
                TableName: tables.orders, Key: Self.openCounterKey(userId), ConditionExpression: condition,
                UpdateExpression: "ADD OpenOrders :d", ExpressionAttributeValues: values))
    }

    /// The stock updates of an order: one per product, taking every line of it (two variants of one product are two
    /// lines, but one item may appear once in a transaction), with `Quantity` by their sum. A product in `legacy` (written
    /// before variants, its one variant's stock still in `Quantity`) is taken from `Quantity` alone, conditioned on it
    /// still having no `Stock#<id>`: the orders and sweep roles may update only `Quantity` and `Stock#…`, so they take
    /// such a product as it is rather than upgrade it.
    static func stockTakes(
        _ lines: [OrderLine], products table: String, legacy: Set<String> = []
    ) -> (items: [DDBRequest.TransactItem], lines: [[OrderLine]]) {
        var groups: [(productId: String, lines: [OrderLine])] = []
        for line in lines {
            if let index = groups.firstIndex(where: { $0.productId == line.productId }) {
                groups[index].lines.append(line)
            } else {
                groups.append((line.productId, [line]))
            }
        }
        let items = groups.map { group in
            if legacy.contains(group.productId), group.lines.count == 1, let line = group.lines.first {
                return DDBRequest.TransactItem(
                    Update: DDBRequest(
                        TableName: table, Key: ["ProductID": .s(group.productId)],
                        ConditionExpression: "attribute_not_exists(#s0) AND Quantity >= :q0",
                        UpdateExpression: "SET Quantity = Quantity - :q0",
                        ExpressionAttributeNames: ["#s0": stockAttribute(line.variantId)],
                        ExpressionAttributeValues: [":q0": .int(line.quantity)]))
            }
            var sets: [String] = []
            var conditions: [String] = []
            var names: [String: String] = [:]
            var values: Item = [:]
            for (index, line) in group.lines.enumerated() {
                names["#s\(index)"] = stockAttribute(line.variantId)
                values[":q\(index)"] = .int(line.quantity)
                sets.append("#s\(index) = #s\(index) - :q\(index)")
                conditions.append("#s\(index) >= :q\(index)")
            }
            values[":t"] = .int(group.lines.reduce(0) { $0 + $1.quantity })
            return DDBRequest.TransactItem(
                Update: DDBRequest(
                    TableName: table, Key: ["ProductID": .s(group.productId)], ConditionExpression: conditions.joined(separator: " AND "),
                    UpdateExpression: "SET " + sets.joined(separator: ", ") + ", Quantity = Quantity - :t",
                    ExpressionAttributeNames: names, ExpressionAttributeValues: values))
        }
        return (items, groups.map(\.lines))
    }

    public func placeOrder(_ order: Order, claim: IdempotencyClaim?, maxOpenOrders: Int?, at now: Date) async throws(StorageError)
        -> PlaceOrderOutcome
    {
        var legacy: Set<String> = []
        for round in 0...order.lines.count {
            switch try await placeOrderOnce(order, claim: claim, maxOpenOrders: maxOpenOrders, legacy: legacy, round: round, at: now) {
            case .done(let outcome):
                return outcome
            case .legacy(let products):
                // Products written before variants (or upgraded since the last try): taken as they are now on the next.
                legacy = products
            }
        }
        throw .busy
    }

    enum PlaceAttempt {
        case done(PlaceOrderOutcome)
        /// Try again with these products taken as written before variants (their stock in `Quantity`).
        case legacy(Set<String>)
    }

    func placeOrderOnce(
        _ order: Order, claim: IdempotencyClaim?, maxOpenOrders: Int?, legacy: Set<String>, round: Int, at now: Date
    ) async throws(StorageError) -> PlaceAttempt {
        let (takes, takenLines) = Self.stockTakes(order.lines, products: tables.products, legacy: legacy)
        var items = takes
        items.append(
            DDBRequest.TransactItem(
                Put: DDBRequest(
                    TableName: tables.orders, Item: Self.item(order), ConditionExpression: "attribute_not_exists(OrderID)")))
        if let claim {
            items.append(
                DDBRequest.TransactItem(
                    Put: DDBRequest(
                        TableName: tables.idempotency,
                        Item: [
                            "IdempotencyKey": .s(Self.idempotencyKey(claim)), "RequestHash": .s(claim.requestHash), "OrderID": .s(order.id),
                            "ExpiresAt": .int64(claim.expiresAt.ms), "TTL": .int64(claim.expiresAt.ms / 1000 + 3600),
                        ],
                        ConditionExpression: "attribute_not_exists(IdempotencyKey) OR ExpiresAt <= :now",
                        ExpressionAttributeValues: [":now": .int64(now.ms)])))
        }
        let counterIndex = items.count
        items.append(openCounterUpdate(order.userId, by: 1, below: maxOpenOrders))
        // The outbox: `order.placed`, in the same transaction (the stream carries it on).
        items.append(eventPut(.placed(order)))
        // Every attempt carries a token, so the send layer's retries never take the stock twice. With an
        // Idempotency-Key it is derived from the key and this call's order id: another request with the same
        // key has another order id, so it is never mistaken for this one's replay.
        let outcome = try await transactWrite(items) { attempt in
            claim.map { Self.clientRequestToken($0, orderId: order.id, attempt: attempt + 100 * round) } ?? UUID().uuidString.lowercased()
        }
        guard case .cancelled(let reasons) = outcome else { return .done(.created(order)) }
        // A live claim on the key wins over every other outcome.
        if let claim, let record = try await idempotencyRecord(claim, now: now) { return .done(.replayed(record)) }
        if counterIndex < reasons.count, reasons[counterIndex].reason == .conditionFailed, let maxOpenOrders {
            throw .tooManyOpenOrders(limit: maxOpenOrders)
        }
        let orderIndex = takes.count
        if orderIndex < reasons.count, reasons[orderIndex].reason == .conditionFailed,
            let stored = try await self.order(id: order.id), stored.userId == order.userId
        {
            // This very order is already stored: a replay of this call that outlived the token's window.
            return .done(.created(stored))
        }
        var failedLines: [OrderLine] = []
        for (index, lines) in takenLines.enumerated() where index < reasons.count && reasons[index].reason == .conditionFailed {
            failedLines += lines
        }
        if failedLines.isEmpty && reasons.isEmpty { failedLines = order.lines }
        if failedLines.isEmpty { throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })") }
        let currentItems = try await productItems(ids: failedLines.map(\.productId))
        // Which of the failed lines' products are (still, or no longer) written as before variants.
        let legacyNow = legacy.subtracting(failedLines.map(\.productId))
            .union(currentItems.filter(Self.isLegacy).compactMap { $0["ProductID"]?.string })
        let current = Dictionary(
            try currentItems.map { item throws(StorageError) in try Self.product(item) }.map { ($0.id, $0) },
            uniquingKeysWith: { a, _ in a })
        var shortages: [StockShortage] = []
        for line in failedLines {
            guard let product = current[line.productId] else { throw .productNotFound(line.productId) }
            guard let variant = product.variant(id: line.variantId) else {
                throw .variantNotFound(productId: line.productId, variantId: line.variantId)
            }
            if variant.quantity < line.quantity {
                shortages.append(
                    StockShortage(
                        productId: line.productId, variantId: line.variantId, requested: line.quantity, available: variant.quantity))
            }
        }
        if !shortages.isEmpty { throw .outOfStock(shortages) }
        if legacyNow != legacy { return .legacy(legacyNow) }
        throw .busy
    }

    public func order(id: String) async throws(StorageError) -> Order? {
        // The per-shopper counter items and the migration records (Migrations.swift) share the table; they are never orders.
        if id.hasPrefix("OPEN#") || id.hasPrefix(Self.migrationPrefix) { return nil }
        return try await get(tables.orders, ["OrderID": .s(id)]).map { item throws(StorageError) in try Self.order(item) }
    }

    public func listOrders(userId: String?, status: OrderStatus?, limit: Int, after: String?) async throws(StorageError) -> Page<Order> {
        let position = try after.map { text throws(StorageError) in try OrderPageKey(text) }
        // One partition per user (their orders, or their orders in one status), or the shards of a
        // listing over every user (docs/DYNAMODB.md): each shard is queried for the page below the
        // cursor's sort key and the answers are merged, newest first.
        let index: String
        let hashName: String
        let hashValues: [String]
        if let userId, let status {
            (index, hashName, hashValues) = (DynamoDBSchema.ordersByUserStatus, "UserStatus", [Self.userStatus(userId, status)])
        } else if let userId {
            (index, hashName, hashValues) = (DynamoDBSchema.ordersByUser, "UserID", [userId])
        } else if let status {
            (index, hashName, hashValues) = (
                DynamoDBSchema.ordersByStatus, "StatusShard", (0..<DynamoDBSchema.orderShards).map { "\(status.rawValue)#\($0)" }
            )
        } else {
            (index, hashName, hashValues) = (
                DynamoDBSchema.ordersByCreated, "KindShard", (0..<DynamoDBSchema.orderShards).map { "ORDER#\($0)" }
            )
        }
        var keyCondition = "#h = :h"
        var values: Item = [:]
        if let position {
            // The sort key is unique (creation time, then id), so "below the cursor" is exact in every shard.
            keyCondition += " AND SortKey < :after"
            values[":after"] = .s(Self.sortKey(createdAt: position.createdAtMillis, id: position.id))
        }
        var items: [Item] = []
        for hashValue in hashValues {
            values[":h"] = .s(hashValue)
            items += try await query(
                table: tables.orders, index: index, keyCondition: keyCondition, names: ["#h": hashName], values: values,
                forward: false, start: nil, want: limit + 1)
        }
        if hashValues.count > 1 {
            items.sort { ($0["SortKey"]?.string ?? "") > ($1["SortKey"]?.string ?? "") }
        }
        let orders = try items.prefix(limit).map { item throws(StorageError) in try Self.order(item) }
        let next = items.count > limit ? orders.last.map { OrderPageKey(after: $0).text } : nil
        return Page(items: orders, nextKey: next)
    }

    public func transitionOrder(
        id: String, from: Set<OrderStatus>, to: OrderStatus, expiredBy: Date?, cancelledBy: CancelledBy?, at now: Date
    ) async throws(StorageError) -> Order {
        // Read, then write conditioned on exactly what was read: if anything moved the
        // order meanwhile the condition fails and the loop looks again.
        for _ in 0..<5 {
            guard let currentItem = try await get(tables.orders, ["OrderID": .s(id)]) else { throw .notFound }
            let current = try Self.order(currentItem)
            guard from.contains(current.status) else { throw .invalidTransition(current: current.status) }
            if let expiredBy, current.expiresAt > expiredBy { throw .invalidTransition(current: current.status) }
            var condition = "#s = :from"
            var values: Item = [
                ":from": .s(current.status.rawValue), ":to": .s(to.rawValue), ":now": .int64(now.ms),
                ":us": .s(Self.userStatus(current.userId, to)), ":ss": .s(Self.statusShard(id, to)),
            ]
            if let expiredBy {
                condition += " AND ExpiresAt <= :due"
                values[":due"] = .int64(expiredBy.ms)
            }
            var items = [
                DDBRequest.TransactItem(
                    Update: DDBRequest(
                        TableName: tables.orders, Key: ["OrderID": .s(id)], ConditionExpression: condition,
                        UpdateExpression: "SET #s = :to, UpdatedAt = :now, UserStatus = :us, StatusShard = :ss",
                        ExpressionAttributeNames: ["#s": "Status"],
                        ExpressionAttributeValues: values))
            ]
            var dropped: [(line: OrderLine, returned: Int)] = []
            var gone: [OrderLine] = []
            if to.returnsStock {
                // Variants (or products) deleted since have nothing to return stock to. A variant restocked near the
                // limit takes back only what fits: DynamoDB has no MIN(), so the stock read decides between adding the
                // units (while they still fit) and setting the limit (once they do not); each is conditioned on that
                // choice still being right, and a failed condition reads again. One update per product.
                let ceiling = Limits.stockRange.upperBound
                let productItems = try await productItems(ids: current.lines.map(\.productId))
                // Products written before variants keep their one variant's stock in `Quantity` (see `stockTakes`).
                let legacy = Set(productItems.filter(Self.isLegacy).compactMap { $0["ProductID"]?.string })
                let products = Dictionary(
                    try productItems.map { item throws(StorageError) in try Self.product(item) }.map { ($0.id, $0) },
                    uniquingKeysWith: { a, _ in a })
                var order: [String] = []
                var updates: [String: (sets: [String], conditions: [String], names: [String: String], values: Item, total: Int)] = [:]
                for line in current.lines {
                    guard let variant = products[line.productId]?.variant(id: line.variantId) else {
                        gone.append(line)
                        continue
                    }
                    if updates[line.productId] == nil {
                        order.append(line.productId)
                        updates[line.productId] = ([], [], [:], [:], 0)
                    }
                    let k = updates[line.productId]!.sets.count
                    updates[line.productId]!.names["#s\(k)"] = Self.stockAttribute(variant.id)
                    if legacy.contains(line.productId) {
                        // `Quantity` is the stock; the update below adds `:t` to it, conditioned on no `Stock#` having appeared.
                        let returned = max(0, min(line.quantity, ceiling - variant.quantity))
                        if returned < line.quantity {
                            dropped.append((line, returned))
                            updates[line.productId]!.sets.append("Quantity = :read\(k) + :t")
                            updates[line.productId]!.conditions.append("attribute_not_exists(#s\(k)) AND Quantity = :read\(k)")
                            updates[line.productId]!.values[":read\(k)"] = .int(variant.quantity)
                        } else {
                            updates[line.productId]!.sets.append("Quantity = Quantity + :t")
                            updates[line.productId]!.conditions.append("attribute_not_exists(#s\(k)) AND Quantity <= :room\(k)")
                            updates[line.productId]!.values[":room\(k)"] = .int(ceiling - line.quantity)
                        }
                        updates[line.productId]!.total += returned
                        continue
                    }
                    if variant.quantity + line.quantity <= ceiling {
                        updates[line.productId]!.sets.append("#s\(k) = #s\(k) + :q\(k)")
                        updates[line.productId]!.conditions.append("#s\(k) <= :room\(k)")
                        updates[line.productId]!.values[":q\(k)"] = .int(line.quantity)
                        updates[line.productId]!.values[":room\(k)"] = .int(ceiling - line.quantity)
                        updates[line.productId]!.total += line.quantity
                    } else {
                        let returned = max(0, ceiling - variant.quantity)
                        dropped.append((line, returned))
                        updates[line.productId]!.sets.append("#s\(k) = :max\(k)")
                        updates[line.productId]!.conditions.append("#s\(k) = :read\(k)")
                        updates[line.productId]!.values[":read\(k)"] = .int(variant.quantity)
                        updates[line.productId]!.values[":max\(k)"] = .int(max(variant.quantity, ceiling))
                        updates[line.productId]!.total += returned
                    }
                }
                for productId in order {
                    var update = updates[productId]!
                    update.values[":t"] = .int(update.total)
                    items.append(
                        DDBRequest.TransactItem(
                            Update: DDBRequest(
                                TableName: tables.products, Key: ["ProductID": .s(productId)],
                                ConditionExpression: update.conditions.joined(separator: " AND "),
                                UpdateExpression: "SET " + update.sets.joined(separator: ", ")
                                    + (legacy.contains(productId) ? "" : ", Quantity = Quantity + :t"),
                                ExpressionAttributeNames: update.names, ExpressionAttributeValues: update.values)))
                }
            }
            if current.status == .pendingPayment {
                items.append(openCounterUpdate(current.userId, by: -1))
            }
            items.append(eventPut(.transition(order: current, to: to, previous: current.status, cancelledBy: cancelledBy, at: now)))
            if to == .cancelled, let paymentId = currentItem["PaymentID"]?.string, let paying = try await payment(id: paymentId),
                paying.refundDue == 0, paying.refundedAmount < paying.amount
            {
                // A paid order that is cancelled owes its payment back: due in the same step, sent after it.
                // Conditioned on what was read (as SQLite's update is on nothing due yet): a concurrent
                // refund makes the transaction fail and the loop read again.
                items.append(
                    DDBRequest.TransactItem(
                        Update: DDBRequest(
                            TableName: tables.payments, Key: ["PaymentID": .s(paymentId)],
                            ConditionExpression: "RefundDue = :zero AND RefundedAmount = :was",
                            UpdateExpression: "SET RefundDue = :owed, DueFlag = :due, UpdatedAt = :now",
                            ExpressionAttributeValues: [
                                ":zero": .int(0), ":was": .int(paying.refundedAmount), ":owed": .int(paying.amount - paying.refundedAmount),
                                ":due": .s(Self.dueFlag), ":now": .int64(now.ms),
                            ])))
            }
            // A fresh token per attempt (each attempt is built from a new read), reused only by this
            // attempt's transport retries: two callers moving the same order never share one.
            switch try await transactWrite(items) {
            case .written:
                for (line, returned) in dropped { StockReturn.logDropped(orderId: id, line: line, returned: returned) }
                for line in gone { StockReturn.logGone(orderId: id, line: line) }
                var moved = current
                moved.status = to
                moved.updatedAt = now
                return moved
            case .cancelled(let reasons):
                // The order moved, or a product vanished, since the read: look again.
                guard reasons.isEmpty || reasons.contains(where: { $0.reason == .conditionFailed }) else {
                    throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
                }
                continue
            }
        }
        guard let current = try await order(id: id) else { throw .notFound }
        // Still allowed, yet every attempt lost a race: busy, not "invalid".
        if from.contains(current.status) { throw .busy }
        throw .invalidTransition(current: current.status)
    }

    public func dueOrders(now: Date, limit: Int) async throws(StorageError) -> [Order] {
        // The pending orders of every shard, soonest expiry first.
        var items: [Item] = []
        for shard in 0..<DynamoDBSchema.orderShards {
            items += try await query(
                table: tables.orders, index: DynamoDBSchema.ordersDue, keyCondition: "StatusShard = :s AND ExpiresAt <= :now",
                names: [:], values: [":s": .s("\(OrderStatus.pendingPayment.rawValue)#\(shard)"), ":now": .int64(now.ms)],
                forward: true, start: nil, want: limit)
        }
        items.sort { ($0["ExpiresAt"]?.int64Value ?? 0) < ($1["ExpiresAt"]?.int64Value ?? 0) }
        return try items.prefix(limit).map { item throws(StorageError) in try Self.order(item) }
    }

    public func purgeIdempotencyRecords(before now: Date) async throws(StorageError) -> Int {
        // DynamoDB's TTL deletes these in production; this sweep (a Scan, off the hot path)
        // keeps stores without TTL, like moto, tidy too.
        var purged = 0
        var start: Item?
        repeat {
            let page = try await call(
                "Scan",
                DDBRequest(
                    TableName: tables.idempotency, FilterExpression: "ExpiresAt <= :now", ProjectionExpression: "IdempotencyKey",
                    ExpressionAttributeValues: [":now": .int64(now.ms)], ExclusiveStartKey: start),
                as: QueryOutput.self)
            for item in page.Items ?? [] {
                guard let key = item["IdempotencyKey"] else { continue }
                let deleted = try await conditional(
                    "DeleteItem",
                    DDBRequest(
                        TableName: tables.idempotency, Key: ["IdempotencyKey": key], ConditionExpression: "ExpiresAt <= :now",
                        ExpressionAttributeValues: [":now": .int64(now.ms)]))
                if deleted != nil { purged += 1 }
            }
            start = page.LastEvaluatedKey
        } while start != nil
        return purged
    }
}
