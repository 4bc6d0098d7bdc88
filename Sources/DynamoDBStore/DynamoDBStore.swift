import AWSWire
import Crypto
import ShopDomain
import ShopStorage
import ShopSupport
import ShopTelemetry

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The AWS backend: DynamoDB tables described in `DynamoDBSchema`, every invariant held
/// by a condition expression or a `TransactWriteItems` call. See docs/DYNAMODB.md.
public struct DynamoDBStore: Sendable {
    let client: AWSJSONClient
    let tables: DynamoDBTableNames
    /// The settings document last decoded (every quote and order reads the settings).
    let settingsCache = SettingsCache()
    /// How often a transaction cancelled by `TransactionConflict` is tried again before `.busy`.
    let conflictRetry: RetryPolicy

    public init(
        client: AWSJSONClient, tables: DynamoDBTableNames,
        conflictRetry: RetryPolicy = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(20), maxDelay: .milliseconds(500))
    ) {
        self.client = client
        self.tables = tables
        self.conflictRetry = conflictRetry
    }

    /// Creates the tables (and their TTL settings) if they do not exist yet.
    public func createTables() async throws {
        for table in DynamoDBSchema.createTables(tables) {
            do {
                _ = try await client.call("CreateTable", table, as: Empty.self)
            } catch let error as AWSError where error.code == .resourceInUse {
                continue
            }
        }
        for ttl in DynamoDBSchema.timeToLive(tables) {
            _ = try? await client.call("UpdateTimeToLive", ttl, as: Empty.self)
        }
    }

    // MARK: plumbing

    func call<Output: Decodable>(_ operation: String, _ request: DDBRequest, as output: Output.Type) async throws(StorageError) -> Output {
        do {
            return try await client.call(operation, request, as: Output.self)
        } catch let error as AWSError {
            throw .backend("\(operation): \(error.type): \(error.message)")
        } catch {
            throw .backend("\(operation): \(error)")
        }
    }

    /// Runs a conditional write; returns nil when its condition failed. Only for writes whose replay
    /// is harmless (the send layer may repeat them after a lost answer).
    func conditional(_ operation: String, _ request: DDBRequest) async throws(StorageError) -> Item? {
        do {
            return try await client.call(operation, request, as: UpdateItemOutput.self).Attributes ?? [:]
        } catch let error as AWSError where error.code == .conditionalCheckFailed {
            return nil
        } catch let error as AWSError {
            throw .backend("\(operation): \(error.type): \(error.message)")
        } catch {
            throw .backend("\(operation): \(error)")
        }
    }

    /// The outcome of one `TransactWriteItems`.
    enum TransactOutcome {
        case written
        /// Cancelled: one reason per item, in request order (`.none` for items that did not fail).
        case cancelled([AWSError.CancellationReason])
    }

    /// One `TransactWriteItems`, as one service call that a replay can never apply twice.
    ///
    /// Each attempt carries a `ClientRequestToken` made here (`token(attempt)`, a fresh UUID unless the
    /// caller derives one), which the send layer's own retries reuse: DynamoDB answers a repeated token
    /// within 10 minutes with the first answer and applies nothing. A token is never shared with another
    /// call. A cancellation for `TransactionConflict` (another transaction held an item) or a throttled
    /// item is tried again with backoff under a new token, since nothing was applied; when they outlast
    /// the attempts it is `.busy`. Any other cancellation is handed back with its reasons.
    func transactWrite(
        _ items: [DDBRequest.TransactItem], token: (Int) -> String = { _ in UUID().uuidString.lowercased() }
    ) async throws(StorageError) -> TransactOutcome {
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...conflictRetry.maxAttempts {
            let request = DDBRequest(TransactItems: items, ClientRequestToken: token(attempt))
            do {
                _ = try await client.call("TransactWriteItems", request, as: Empty.self)
                return .written
            } catch let error as AWSError where error.code == .transactionCanceled {
                let reasons = error.cancellationReasons ?? []
                // Conflicts and throttled items applied nothing and pass: try again. A failed condition is an answer.
                guard reasons.contains(where: { Self.transient.contains($0.reason) }),
                    !reasons.contains(where: { $0.reason == .conditionFailed })
                else { return .cancelled(reasons) }
                ShopMetrics.transactionConflict()
                if attempt < conflictRetry.maxAttempts {
                    do { try await Task.sleep(for: conflictRetry.delay(beforeRetry: attempt, using: &generator)) } catch { throw .busy }
                }
            } catch let error as AWSError {
                throw .backend("TransactWriteItems: \(error.type): \(error.message)")
            } catch {
                throw .backend("TransactWriteItems: \(error)")
            }
        }
        throw .busy
    }

    /// Cancellation reasons that say "nothing was applied, try again later".
    static let transient: Set<AWSErrorCode> = [.transactionConflict, .throttlingError, .provisionedThroughputExceededReason]

    /// A single-item write (`Put`, `Update` or `Delete` with its condition) made replay-proof by running it
    /// as a one-item transaction. Returns false when the condition failed.
    func write(_ item: DDBRequest.TransactItem) async throws(StorageError) -> Bool {
        switch try await transactWrite([item]) {
        case .written: return true
        case .cancelled(let reasons):
            if reasons.first?.reason == .conditionFailed { return false }
            throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
        }
    }

    func get(_ table: String, _ key: Item) async throws(StorageError) -> Item? {
        try await call("GetItem", DDBRequest(TableName: table, Key: key, ConsistentRead: true), as: GetItemOutput.self).Item
    }

    static func decode<T>(_ body: () throws -> T) throws(StorageError) -> T {
        do { return try body() } catch { throw .backend("malformed item: \(error)") }
    }
}

// MARK: - Item mapping

extension Date {
    var ms: Int64 { unixMillis }
}

extension DynamoDBStore {
    /// The `ByUserStatus` index's key: kept in step with `Status` by every write that moves an order.
    static func userStatus(_ userId: String, _ status: OrderStatus) -> String { userId + "#" + status.rawValue }

    /// The listing shard of an order (0 ..< `DynamoDBSchema.orderShards`): FNV-1a of its id, stable across processes.
    static func orderShard(_ id: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in id.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int(hash % UInt32(DynamoDBSchema.orderShards))
    }

    /// `ByStock`'s hash key of a product: the low-stock list is `orderShards` partitions, so that sales (which move
    /// `Quantity`, the index's range key) spread their index writes.
    static func stockShard(_ productId: String) -> String { "STOCK#\(orderShard(productId))" }

    /// `ByCreated`'s hash key of an order.
    static func kindShard(_ id: String) -> String { "ORDER#\(orderShard(id))" }

    /// `ByStatus`'s and `Due`'s hash key of an order in `status`: kept in step with `Status` by every write that moves an order.
    static func statusShard(_ id: String, _ status: OrderStatus) -> String { "\(status.rawValue)#\(orderShard(id))" }

    /// `createdAt` zero-padded then the id: sorts like (createdAt, id).
    static func sortKey(createdAt: Int64, id: String) -> String {
        let digits = String(createdAt)
        return String(repeating: "0", count: max(0, 15 - digits.count)) + digits + "#" + id
    }

    /// An order's item. The money and shipping attributes (`Subtotal`, `ShippingTotal`, `ShippingTax`, `TaxTotal`,
    /// `ShippingAddress`, `ShippingMethod`, `Shipment`, each line's `Tax`) are absent from orders written before they
    /// existed, and `order(_:)` reads those with the defaults `Order` gives them; the optional ones are left out when nil.
    static func item(_ o: Order) -> Item {
        var item: Item = [
            "OrderID": .s(o.id), "UserID": .s(o.userId), "Status": .s(o.status.rawValue), "Total": .int(o.total),
            "Currency": .s(o.currency), "CreatedAt": .int64(o.createdAt.ms), "UpdatedAt": .int64(o.updatedAt.ms),
            "ExpiresAt": .int64(o.expiresAt.ms), "KindShard": .s(kindShard(o.id)),
            "SortKey": .s(sortKey(createdAt: o.createdAt.ms, id: o.id)), "UserStatus": .s(userStatus(o.userId, o.status)),
            "StatusShard": .s(statusShard(o.id, o.status)),
            "Lines": .l(o.lines.map(lineAttributes)),
            "Subtotal": .int(o.subtotal), "ShippingTotal": .int(o.shippingTotal), "ShippingTax": .int(o.shippingTax),
            "TaxTotal": .int(o.taxTotal),
        ]
        if let address = o.shippingAddress { item["ShippingAddress"] = .m(addressAttributes(address)) }
        if let method = o.shippingMethod { item["ShippingMethod"] = .m(shippingMethodAttributes(method)) }
        if let shipment = o.shipment { item["Shipment"] = .m(shipmentAttributes(shipment)) }
        if let email = o.email { item["Email"] = .s(email) }
        return item
    }

    static func lineAttributes(_ l: OrderLine) -> AttributeValue {
        var line: Item = [
            "ProductID": .s(l.productId), "VariantID": .s(l.variantId), "Name": .s(l.name), "UnitPrice": .int(l.unitPrice),
            "Quantity": .int(l.quantity), "Tax": .int(l.tax),
        ]
        if let sku = l.sku { line["Sku"] = .s(sku) }
        if !l.options.isEmpty { line["Options"] = .m(l.options.mapValues { .s($0) }) }
        return .m(line)
    }

    static func order(_ item: Item) throws(StorageError) -> Order {
        try decode {
            let r = ItemReader(item: item)
            guard case .l(let rawLines)? = item["Lines"] else { throw MalformedItem(attribute: "Lines") }
            let lines = try rawLines.map { value -> OrderLine in
                guard case .m(let m) = value else { throw MalformedItem(attribute: "Lines") }
                let l = ItemReader(item: m)
                var options: [String: String] = [:]
                if case .m(let chosen)? = m["Options"] { options = chosen.compactMapValues(\.string) }
                return OrderLine(
                    productId: try l.string("ProductID"), variantId: l.optionalString("VariantID"), sku: l.optionalString("Sku"),
                    options: options, name: try l.string("Name"), unitPrice: try l.int("UnitPrice"),
                    quantity: try l.int("Quantity"), tax: l.optionalInt("Tax") ?? 0)
            }
            guard let status = OrderStatus(rawValue: try r.string("Status")) else { throw MalformedItem(attribute: "Status") }
            // Orders written before shipping existed have none of these: subtotal = total, no shipping, no tax.
            func map(_ name: String) throws -> Item? {
                switch item[name] {
                case nil, .null?: return nil
                case .m(let m)?: return m
                default: throw MalformedItem(attribute: name)
                }
            }
            return Order(
                id: try r.string("OrderID"), userId: try r.string("UserID"), lines: lines, total: try r.int("Total"),
                currency: try r.string("Currency"), status: status,
                createdAt: Date(unixMillis: try r.int64("CreatedAt")), updatedAt: Date(unixMillis: try r.int64("UpdatedAt")),
                expiresAt: Date(unixMillis: try r.int64("ExpiresAt")),
                shippingAddress: try map("ShippingAddress").map { m in try address(m, attribute: "ShippingAddress") },
                shippingMethod: try map("ShippingMethod").map { m in try shippingMethod(m) },
                subtotal: r.optionalInt("Subtotal"), shippingTotal: r.optionalInt("ShippingTotal") ?? 0,
                shippingTax: r.optionalInt("ShippingTax") ?? 0, taxTotal: r.optionalInt("TaxTotal") ?? 0,
                shipment: try map("Shipment").map { m in try shipment(m) }, email: r.optionalString("Email"))
        }
    }
}

extension DynamoDBStore {
    /// Pages through a query until `want` items (after the filter) or the end.
    func query(
        table: String, index: String?, keyCondition: String, filter: String? = nil, names: [String: String], values: Item,
        forward: Bool, start: Item?, want: Int
    ) async throws(StorageError) -> [Item] {
        var items: [Item] = []
        var exclusiveStart = start
        repeat {
            let output = try await call(
                "Query",
                DDBRequest(
                    TableName: table, KeyConditionExpression: keyCondition, FilterExpression: filter,
                    ExpressionAttributeNames: names.isEmpty ? nil : names, ExpressionAttributeValues: values, IndexName: index,
                    Limit: max(want - items.count, 1), ScanIndexForward: forward, ExclusiveStartKey: exclusiveStart),
                as: QueryOutput.self)
            items += output.Items ?? []
            exclusiveStart = output.LastEvaluatedKey
        } while items.count < want && exclusiveStart != nil
        return items
    }
}
