import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The outbox (docs/EVENTS.md, docs/DYNAMODB.md): one `Events` table, hash `OrderID`, range `Key`. An event's item has
// the event's key ("1", "2", "3", "4.<failures>.<total>"); a delivery's item "<event key>#<name>", so one query reads an
// order's events and deliveries together, in order. While an event is not dispatched, and while a delivery is pending,
// the item carries `DueShard` and `DueAt`: the sparse `Due` index is the list of work.

extension DynamoDBStore {
    static func eventShard(_ orderId: String) -> Int { orderShard(orderId) % DynamoDBSchema.eventShards }
    static func eventDueShard(_ orderId: String) -> String { "EVENT#\(eventShard(orderId))" }
    static func deliveryDueShard(_ orderId: String) -> String { "DELIVERY#\(eventShard(orderId))" }

    /// The `Put` of an event, for the transaction of the change it records. Conditioned on the event not existing: the
    /// change's own condition makes each event happen once, so a second one would be a bug, never written over the
    /// first (whose dispatch state it would reset).
    func eventPut(_ e: OrderEventRecord) -> DDBRequest.TransactItem {
        var item: Item = [
            "OrderID": .s(e.orderId), "Key": .s(e.key), "Kind": .s("event"), "UserID": .s(e.userId), "Type": .s(e.type.rawValue),
            "OccurredAt": .int64(e.occurredAt.ms), "Dispatched": .bool(false),
            "DueShard": .s(Self.eventDueShard(e.orderId)), "DueAt": .int64(e.occurredAt.ms),
        ]
        if let status = e.status { item["Status"] = .s(status.rawValue) }
        if let by = e.cancelledBy { item["CancelledBy"] = .s(by.rawValue) }
        if let previous = e.previousStatus { item["PreviousStatus"] = .s(previous.rawValue) }
        if let amount = e.refundAmount { item["RefundAmount"] = .int(amount) }
        if let total = e.refundedTotal { item["RefundedTotal"] = .int(total) }
        return .init(Put: DDBRequest(TableName: tables.events, Item: item, ConditionExpression: "attribute_not_exists(OrderID)"))
    }

    /// An event item (from a query, or a stream record's new image).
    public static func eventRecord(_ item: Item) throws(StorageError) -> OrderEventRecord {
        try decode {
            let r = ItemReader(item: item)
            guard let type = OrderEventType(rawValue: try r.string("Type")) else { throw MalformedItem(attribute: "Type") }
            return OrderEventRecord(
                orderId: try r.string("OrderID"), userId: try r.string("UserID"), key: try r.string("Key"), type: type,
                occurredAt: Date(unixMillis: try r.int64("OccurredAt")),
                status: r.optionalString("Status").flatMap(OrderStatus.init(rawValue:)),
                cancelledBy: r.optionalString("CancelledBy").flatMap(CancelledBy.init(rawValue:)),
                previousStatus: r.optionalString("PreviousStatus").flatMap(OrderStatus.init(rawValue:)),
                refundAmount: r.optionalInt("RefundAmount"), refundedTotal: r.optionalInt("RefundedTotal"))
        }
    }

    /// Whether an item of the `Events` table is an event (not a delivery).
    public static func isEventItem(_ item: Item) -> Bool { item["Kind"]?.string == "event" }

    static func delivery(_ item: Item) throws(StorageError) -> EventDelivery {
        try decode {
            let r = ItemReader(item: item)
            guard let status = DeliveryStatus(rawValue: try r.string("DStatus")) else { throw MalformedItem(attribute: "DStatus") }
            return EventDelivery(
                name: try r.string("Name"), recipient: r.optionalString("Recipient"), status: status, attempts: try r.int("Attempts"),
                lastError: r.optionalString("LastError"), nextAttemptAt: (try? r.int64("NextAttemptAt")).map(Date.init(unixMillis:)),
                createdAt: Date(unixMillis: try r.int64("CreatedAt")))
        }
    }

    static func deliveryItem(_ d: EventDelivery, orderId: String, key: String) -> Item {
        var item: Item = [
            "OrderID": .s(orderId), "Key": .s(key + "#" + d.name), "Kind": .s("delivery"), "EventKey": .s(key), "Name": .s(d.name),
            "DStatus": .s(d.status.rawValue), "Attempts": .int(d.attempts), "CreatedAt": .int64(d.createdAt.ms),
        ]
        if let recipient = d.recipient { item["Recipient"] = .s(recipient) }
        if let error = d.lastError { item["LastError"] = .s(error) }
        if let next = d.nextAttemptAt { item["NextAttemptAt"] = .int64(next.ms) }
        if d.status == .pending, let next = d.nextAttemptAt {
            item["DueShard"] = .s(deliveryDueShard(orderId))
            item["DueAt"] = .int64(next.ms)
        }
        return item
    }
}

extension DynamoDBStore: OutboxStore {
    public func orderEvents(orderId: String) async throws(StorageError) -> [StoredEvent] {
        let items = try await query(
            table: tables.events, index: nil, keyCondition: "OrderID = :o", names: [:], values: [":o": .s(orderId)], forward: true,
            start: nil, want: 1000)
        var events: [StoredEvent] = []
        var deliveries: [String: [EventDelivery]] = [:]
        for item in items {
            if Self.isEventItem(item) {
                events.append(
                    StoredEvent(record: try Self.eventRecord(item), dispatched: item["Dispatched"] == .bool(true), deliveries: []))
            } else if let key = item["EventKey"]?.string {
                deliveries[key, default: []].append(try Self.delivery(item))
            }
        }
        for index in events.indices {
            events[index].deliveries = (deliveries[events[index].record.key] ?? []).sorted { $0.name < $1.name }
        }
        return events
    }

    public func undispatchedEvents(limit: Int) async throws(StorageError) -> [StoredEvent] {
        var items: [Item] = []
        for shard in 0..<DynamoDBSchema.eventShards {
            items += try await query(
                table: tables.events, index: DynamoDBSchema.eventsDue, keyCondition: "DueShard = :s", names: [:],
                values: [":s": .s("EVENT#\(shard)")], forward: true, start: nil, want: limit)
        }
        // The index is eventually consistent: an item already dispatched may still be listed; `dispatchEvent` is conditional.
        let events = try items.filter(Self.isEventItem).map { item throws(StorageError) in try Self.eventRecord(item) }
        return events.sorted { ($0.occurredAt, $0.orderId, $0.key) < ($1.occurredAt, $1.orderId, $1.key) }.prefix(limit)
            .map { StoredEvent(record: $0, dispatched: false, deliveries: []) }
    }

    public func dispatchEvent(orderId: String, key: String, deliveries: [EventDelivery], at now: Date) async throws(StorageError) -> Bool {
        var items: [DDBRequest.TransactItem] = [
            .init(
                Update: DDBRequest(
                    TableName: tables.events, Key: ["OrderID": .s(orderId), "Key": .s(key)], ConditionExpression: "Dispatched = :no",
                    UpdateExpression: "SET Dispatched = :yes, DispatchedAt = :now REMOVE DueShard, DueAt",
                    ExpressionAttributeValues: [":no": .bool(false), ":yes": .bool(true), ":now": .int64(now.ms)]))
        ]
        for d in deliveries {
            items.append(
                .init(
                    Put: DDBRequest(
                        TableName: tables.events, Item: Self.deliveryItem(d, orderId: orderId, key: key),
                        ConditionExpression: "attribute_not_exists(OrderID)")))
        }
        switch try await transactWrite(items) {
        case .written:
            return true
        case .cancelled(let reasons):
            guard reasons.isEmpty || reasons.contains(where: { $0.reason == .conditionFailed }) else {
                throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
            }
            guard try await get(tables.events, ["OrderID": .s(orderId), "Key": .s(key)]) != nil else { throw .notFound }
            return false
        }
    }

    public func dueDeliveries(now: Date, limit: Int) async throws(StorageError) -> [DueDelivery] {
        var items: [Item] = []
        for shard in 0..<DynamoDBSchema.eventShards {
            items += try await query(
                table: tables.events, index: DynamoDBSchema.eventsDue, keyCondition: "DueShard = :s AND DueAt <= :now", names: [:],
                values: [":s": .s("DELIVERY#\(shard)"), ":now": .int64(now.ms)], forward: true, start: nil, want: limit)
        }
        // Earliest first; an order's deliveries due at the same time in the order of their events.
        items.sort {
            ($0["DueAt"]?.int64Value ?? 0, $0["OrderID"]?.string ?? "", $0["Key"]?.string ?? "")
                < ($1["DueAt"]?.int64Value ?? 0, $1["OrderID"]?.string ?? "", $1["Key"]?.string ?? "")
        }
        var due: [DueDelivery] = []
        var events: [String: OrderEventRecord] = [:]
        for item in items.prefix(limit) {
            guard let orderId = item["OrderID"]?.string, let key = item["EventKey"]?.string else { continue }
            let delivery = try Self.delivery(item)
            // The index may lag the table: a delivery moved on meanwhile is left for `updateDelivery`'s condition to refuse.
            guard delivery.status == .pending else { continue }
            let eventId = OrderEventRecord.id(orderId: orderId, key: key)
            if events[eventId] == nil, let eventItem = try await get(tables.events, ["OrderID": .s(orderId), "Key": .s(key)]) {
                events[eventId] = try Self.eventRecord(eventItem)
            }
            guard let event = events[eventId] else { continue }
            due.append(DueDelivery(event: event, delivery: delivery))
        }
        return due
    }

    public func updateDelivery(orderId: String, key: String, expected: EventDelivery, to new: EventDelivery) async throws(StorageError)
        -> Bool
    {
        let put = DDBRequest(
            TableName: tables.events, Item: Self.deliveryItem(new, orderId: orderId, key: key),
            ConditionExpression: "attribute_exists(OrderID) AND DStatus = :status AND Attempts = :attempts",
            ExpressionAttributeValues: [":status": .s(expected.status.rawValue), ":attempts": .int(expected.attempts)])
        if try await conditional("PutItem", put) != nil { return true }
        guard try await get(tables.events, ["OrderID": .s(orderId), "Key": .s(key + "#" + expected.name)]) != nil else { throw .notFound }
        return false
    }
}
