import AWSWire
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ShopSupport
import ShopDomain
import ShopStorage

extension DynamoDBStore: OrderStore {
    static func idempotencyKey(_ claim: IdempotencyClaim) -> String { claim.userId + "#" + claim.key }

    /// At most 36 characters, the same for the same key: DynamoDB then treats a retried
    /// `TransactWriteItems` of the same request as one (for ten minutes).
    static func clientRequestToken(_ claim: IdempotencyClaim, orderId: String) -> String {
        let digest = SHA256.hash(data: Data((idempotencyKey(claim) + "\n" + orderId).utf8))
        return String(digest.hexEncoded.prefix(36))
    }

    func idempotencyRecord(_ claim: IdempotencyClaim, now: Date) async throws(StorageError) -> IdempotencyRecord? {
        guard let item = try await get(tables.idempotency, ["IdempotencyKey": .s(Self.idempotencyKey(claim))]) else { return nil }
        return try Self.decode {
            let r = ItemReader(item: item)
            let expires = Date(unixMillis: try r.int64("ExpiresAt"))
            guard expires > now else { return nil }
            let stored = IdempotencyClaim(userId: claim.userId, key: claim.key, requestHash: try r.string("RequestHash"), expiresAt: expires)
            return IdempotencyRecord(claim: stored, orderId: try r.string("OrderID"))
        }
    }

    public func placeOrder(_ order: Order, claim: IdempotencyClaim?, at now: Date) async throws(StorageError) -> PlaceOrderOutcome {
        var items: [DDBRequest.TransactItem] = order.lines.map { line in
            DDBRequest.TransactItem(Update: DDBRequest(
                TableName: tables.products, Key: ["ProductID": .s(line.productId)],
                ConditionExpression: "attribute_exists(ProductID) AND Quantity >= :q",
                UpdateExpression: "SET Quantity = Quantity - :q",
                ExpressionAttributeValues: [":q": .int(line.quantity)]))
        }
        items.append(DDBRequest.TransactItem(Put: DDBRequest(
            TableName: tables.orders, Item: Self.item(order), ConditionExpression: "attribute_not_exists(OrderID)")))
        if let claim {
            items.append(DDBRequest.TransactItem(Put: DDBRequest(
                TableName: tables.idempotency,
                Item: [
                    "IdempotencyKey": .s(Self.idempotencyKey(claim)), "RequestHash": .s(claim.requestHash), "OrderID": .s(order.id),
                    "ExpiresAt": .int64(claim.expiresAt.ms), "TTL": .int64(claim.expiresAt.ms / 1000 + 3600),
                ],
                ConditionExpression: "attribute_not_exists(IdempotencyKey) OR ExpiresAt <= :now",
                ExpressionAttributeValues: [":now": .int64(now.ms)])))
        }
        let request = DDBRequest(TransactItems: items, ClientRequestToken: claim.map { Self.clientRequestToken($0, orderId: order.id) })
        do {
            _ = try await client.call("TransactWriteItems", request, as: Empty.self)
            return .created(order)
        } catch let error as AWSError where error.type == "TransactionCanceledException" || error.type == "IdempotentParameterMismatchException" {
            // A live claim on the key wins over every other outcome.
            if let claim, let record = try await idempotencyRecord(claim, now: now) { return .replayed(record) }
            let reasons = error.cancellationReasons ?? []
            var failedLines: [OrderLine] = []
            for (index, line) in order.lines.enumerated() where index < reasons.count && reasons[index].code == "ConditionalCheckFailed" {
                failedLines.append(line)
            }
            if failedLines.isEmpty && reasons.isEmpty { failedLines = order.lines }
            if failedLines.isEmpty { throw .backend("TransactWriteItems cancelled: \(error.message)") }
            let current = Dictionary(uniqueKeysWithValues: try await products(ids: failedLines.map(\.productId)).map { ($0.id, $0.quantity) })
            var shortages: [StockShortage] = []
            for line in failedLines {
                guard let available = current[line.productId] else { throw .productNotFound(line.productId) }
                if available < line.quantity {
                    shortages.append(StockShortage(productId: line.productId, requested: line.quantity, available: available))
                }
            }
            if shortages.isEmpty { throw .backend("TransactWriteItems cancelled, yet every line has stock now: \(error.message)") }
            throw .outOfStock(shortages)
        } catch let error as AWSError {
            throw .backend("TransactWriteItems: \(error.type): \(error.message)")
        } catch let error as StorageError {
            throw error
        } catch {
            throw .backend("TransactWriteItems: \(error)")
        }
    }

    public func order(id: String) async throws(StorageError) -> Order? {
        try await get(tables.orders, ["OrderID": .s(id)]).map { item throws(StorageError) in try Self.order(item) }
    }

    public func listOrders(userId: String?, status: OrderStatus?, limit: Int, after: String?) async throws(StorageError) -> Page<Order> {
        var startSortKey: String?
        var startId: String?
        if let after {
            let parts = after.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let millis = Int64(parts[0]) else { throw .badPageKey }
            startId = String(parts[1])
            startSortKey = Self.sortKey(createdAt: millis, id: String(parts[1]))
        }
        let index: String, hashName: String, hashValue: String
        var filter: String?
        var values: Item = [:]
        if let userId {
            (index, hashName, hashValue) = (DynamoDBSchema.ordersByUser, "UserID", userId)
            if let status {
                filter = "#s = :s"
                values[":s"] = .s(status.rawValue)
            }
        } else if let status {
            (index, hashName, hashValue) = (DynamoDBSchema.ordersByStatus, "Status", status.rawValue)
        } else {
            (index, hashName, hashValue) = (DynamoDBSchema.ordersByCreated, "Kind", "ORDER")
        }
        values[":h"] = .s(hashValue)
        var names = ["#h": hashName]
        if filter != nil { names["#s"] = "Status" }
        let start: Item? = startSortKey.map { ["OrderID": .s(startId!), "SortKey": .s($0), hashName: .s(hashValue)] }
        let items = try await query(
            table: tables.orders, index: index, keyCondition: "#h = :h", filter: filter, names: names, values: values,
            forward: false, start: start, want: limit + 1)
        let orders = try items.prefix(limit).map { item throws(StorageError) in try Self.order(item) }
        let next = items.count > limit ? orders.last.map { "\($0.createdAt.ms):\($0.id)" } : nil
        return Page(items: orders, nextKey: next)
    }

    public func transitionOrder(id: String, from: Set<OrderStatus>, to: OrderStatus, expiredBy: Date?, at now: Date) async throws(StorageError) -> Order {
        // Read, then write conditioned on exactly what was read: if anything moved the
        // order meanwhile the condition fails and the loop looks again.
        for _ in 0..<5 {
            guard let current = try await order(id: id) else { throw .notFound }
            guard from.contains(current.status) else { throw .invalidTransition(current: current.status) }
            if let expiredBy, current.expiresAt > expiredBy { throw .invalidTransition(current: current.status) }
            var condition = "#s = :from"
            var values: Item = [":from": .s(current.status.rawValue), ":to": .s(to.rawValue), ":now": .int64(now.ms)]
            if let expiredBy {
                condition += " AND ExpiresAt <= :due"
                values[":due"] = .int64(expiredBy.ms)
            }
            var items = [DDBRequest.TransactItem(Update: DDBRequest(
                TableName: tables.orders, Key: ["OrderID": .s(id)], ConditionExpression: condition,
                UpdateExpression: "SET #s = :to, UpdatedAt = :now", ExpressionAttributeNames: ["#s": "Status"],
                ExpressionAttributeValues: values))]
            if to.returnsStock {
                // Products deleted since have nothing to return stock to.
                let existing = Set(try await products(ids: current.lines.map(\.productId)).map(\.id))
                for line in current.lines where existing.contains(line.productId) {
                    items.append(DDBRequest.TransactItem(Update: DDBRequest(
                        TableName: tables.products, Key: ["ProductID": .s(line.productId)],
                        ConditionExpression: "attribute_exists(ProductID)", UpdateExpression: "SET Quantity = Quantity + :q",
                        ExpressionAttributeValues: [":q": .int(line.quantity)])))
                }
            }
            do {
                _ = try await client.call("TransactWriteItems", DDBRequest(TransactItems: items), as: Empty.self)
                var moved = current
                moved.status = to
                moved.updatedAt = now
                return moved
            } catch let error as AWSError where error.type == "TransactionCanceledException" {
                continue
            } catch {
                throw .backend("TransactWriteItems: \(error)")
            }
        }
        guard let current = try await order(id: id) else { throw .notFound }
        throw .invalidTransition(current: current.status)
    }

    public func dueOrders(now: Date, limit: Int) async throws(StorageError) -> [Order] {
        try await query(
            table: tables.orders, index: DynamoDBSchema.ordersDue, keyCondition: "#s = :s AND ExpiresAt <= :now",
            names: ["#s": "Status"], values: [":s": .s(OrderStatus.pendingPayment.rawValue), ":now": .int64(now.ms)],
            forward: true, start: nil, want: limit
        ).prefix(limit).map { item throws(StorageError) in try Self.order(item) }
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

extension DynamoDBStore: UserStore {
    public func createUser(_ user: UserRecord) async throws(StorageError) {
        let userItem: Item = [
            "PK": .s("USER#" + user.id), "UserID": .s(user.id), "Email": .s(user.email), "Name": .s(user.name),
            "PasswordHash": .s(user.passwordHash), "Groups": .l(user.groups.map { .s($0) }), "CreatedAt": .int64(user.createdAt.ms),
        ]
        let emailItem: Item = ["PK": .s("EMAIL#" + user.email), "UserID": .s(user.id)]
        let request = DDBRequest(TransactItems: [
            .init(Put: DDBRequest(TableName: tables.users, Item: userItem, ConditionExpression: "attribute_not_exists(PK)")),
            .init(Put: DDBRequest(TableName: tables.users, Item: emailItem, ConditionExpression: "attribute_not_exists(PK)")),
        ])
        do {
            _ = try await client.call("TransactWriteItems", request, as: Empty.self)
        } catch let error as AWSError where error.type == "TransactionCanceledException" {
            let reasons = error.cancellationReasons ?? []
            if reasons.count > 1, reasons[1].code == "ConditionalCheckFailed" { throw .emailTaken }
            if reasons.first?.code == "ConditionalCheckFailed" { throw .alreadyExists }
            throw .emailTaken
        } catch {
            throw .backend("TransactWriteItems: \(error)")
        }
    }

    public func user(email: String) async throws(StorageError) -> UserRecord? {
        guard let pointer = try await get(tables.users, ["PK": .s("EMAIL#" + email)]), let id = pointer["UserID"]?.string else { return nil }
        return try await user(id: id)
    }

    public func user(id: String) async throws(StorageError) -> UserRecord? {
        guard let item = try await get(tables.users, ["PK": .s("USER#" + id)]) else { return nil }
        return try Self.decode {
            let r = ItemReader(item: item)
            guard case .l(let groups)? = item["Groups"] else { throw MalformedItem(attribute: "Groups") }
            return UserRecord(
                id: try r.string("UserID"), email: try r.string("Email"), name: try r.string("Name"),
                passwordHash: try r.string("PasswordHash"), groups: groups.compactMap(\.string),
                createdAt: Date(unixMillis: try r.int64("CreatedAt")))
        }
    }

    public func saveRefreshToken(digest: String, userId: String, expiresAt: Date) async throws(StorageError) {
        let item: Item = [
            "PK": .s("REFRESH#" + digest), "UserID": .s(userId), "ExpiresAt": .int64(expiresAt.ms), "TTL": .int64(expiresAt.ms / 1000),
        ]
        _ = try await call("PutItem", DDBRequest(TableName: tables.users, Item: item), as: Empty.self)
    }

    public func refreshTokenOwner(digest: String, now: Date) async throws(StorageError) -> String? {
        guard let item = try await get(tables.users, ["PK": .s("REFRESH#" + digest)]),
            let expires = item["ExpiresAt"]?.int64Value, expires > now.ms
        else { return nil }
        return item["UserID"]?.string
    }
}
