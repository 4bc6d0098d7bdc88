import AWSWire
import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// "Ship it" on DynamoDB (docs/DYNAMODB.md): the settings document, the shoppers' address books and fulfilment.
//
// - `Settings` (hash `SettingsID`): one item, `SettingsID = "store"`, holding the document as a JSON string
//   (`Document`, dates in ms) with `Version` (N) and `UpdatedAt` (N, ms) beside it; those two attributes, not the
//   document's own fields, are what a read answers. Every put is conditioned on the version it replaces.
// - `Addresses` (hash `UserID`, range `AddressID`): one item per address, the `Address` as attributes (`Name`,
//   `Line1`, `Line2`, `City`, `Region`, `PostalCode`, `Country`, `Phone`; the optional ones absent when nil) with
//   `CreatedAt` and `UpdatedAt` (N, ms); plus one counter item per shopper, `AddressID = "#COUNT"` with `Count`
//   (N), changed in the same `TransactWriteItems` as each address added or deleted.
// - Orders: `fulfilOrder` moves a PAID order to FULFILLED with its `Shipment` in one conditioned write.

// MARK: - Shipping types as attribute maps

extension DynamoDBStore {
    /// An address as attributes: in an address book item, and as an order's `ShippingAddress` map.
    static func addressAttributes(_ a: Address) -> Item {
        var item: Item = [
            "Name": .s(a.name), "Line1": .s(a.line1), "City": .s(a.city), "PostalCode": .s(a.postalCode), "Country": .s(a.country),
        ]
        if let line2 = a.line2 { item["Line2"] = .s(line2) }
        if let region = a.region { item["Region"] = .s(region) }
        if let phone = a.phone { item["Phone"] = .s(phone) }
        return item
    }

    static func address(_ item: Item, attribute: String) throws -> Address {
        try nested(attribute) {
            let r = ItemReader(item: item)
            return Address(
                name: try r.string("Name"), line1: try r.string("Line1"), line2: r.optionalString("Line2"), city: try r.string("City"),
                region: r.optionalString("Region"), postalCode: try r.string("PostalCode"), country: try r.string("Country"),
                phone: r.optionalString("Phone"))
        }
    }

    static func shippingMethodAttributes(_ m: OrderShippingMethod) -> Item {
        ["ID": .s(m.id), "Name": .s(m.name), "Price": .int(m.price), "MinDays": .int(m.minDays), "MaxDays": .int(m.maxDays)]
    }

    static func shippingMethod(_ item: Item) throws -> OrderShippingMethod {
        try nested("ShippingMethod") {
            let r = ItemReader(item: item)
            return OrderShippingMethod(
                id: try r.string("ID"), name: try r.string("Name"), price: try r.int("Price"), minDays: try r.int("MinDays"),
                maxDays: try r.int("MaxDays"))
        }
    }

    /// `ShippedAt` in ms, like every time in these tables.
    static func shipmentAttributes(_ s: Shipment) -> Item {
        var item: Item = ["ShippedAt": .int64(s.shippedAt.ms)]
        if let carrier = s.carrier { item["Carrier"] = .s(carrier) }
        if let number = s.trackingNumber { item["TrackingNumber"] = .s(number) }
        if let url = s.trackingUrl { item["TrackingUrl"] = .s(url) }
        return item
    }

    static func shipment(_ item: Item) throws -> Shipment {
        try nested("Shipment") {
            let r = ItemReader(item: item)
            return Shipment(
                carrier: r.optionalString("Carrier"), trackingNumber: r.optionalString("TrackingNumber"),
                trackingUrl: r.optionalString("TrackingUrl"), shippedAt: Date(unixMillis: try r.int64("ShippedAt")))
        }
    }

    /// Names a malformed attribute inside a map by its path (`Shipment.ShippedAt`).
    private static func nested<T>(_ attribute: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as MalformedItem { throw MalformedItem(attribute: attribute + "." + error.attribute) }
    }
}

// MARK: - SettingsStore

extension DynamoDBStore: SettingsStore {
    static let settingsKey: Item = ["SettingsID": .s("store")]
    /// How often `putSettings` without an expected version reads the version again after losing a race to
    /// another writer, before `.busy`.
    static let settingsAttempts = 5

    public func storedSettings() async throws(StorageError) -> StoreSettings? {
        guard let item = try await get(tables.settings, Self.settingsKey) else { return nil }
        guard let version = item["Version"]?.intValue, let updated = item["UpdatedAt"]?.int64Value else {
            throw .backend("malformed item: settings without Version or UpdatedAt")
        }
        return try settingsCache.settings(version: version, updatedAt: Date(unixMillis: updated)) { () throws(StorageError) in
            try Self.settings(item)
        }
    }

    public func putSettings(_ settings: StoreSettings, expectedVersion: Int?, at now: Date) async throws(StorageError) -> StoreSettings {
        for _ in 0..<Self.settingsAttempts {
            // Without an expected version: the stored one (0 when there is none), so that the put replaces exactly
            // it and versions never skip or repeat; a writer in between makes the condition fail and this read again.
            let replacing: Int
            if let expectedVersion {
                replacing = expectedVersion
            } else {
                replacing = try await storedSettingsVersion()
            }
            var stored = settings
            stored.version = replacing + 1
            stored.updatedAt = Date(unixMillis: now.ms)
            var item = Self.settingsKey
            item["Document"] = .s(try Self.settingsDocument(stored))
            item["Version"] = .int(stored.version)
            item["UpdatedAt"] = .int64(now.ms)
            let put =
                replacing == 0
                ? DDBRequest(TableName: tables.settings, Item: item, ConditionExpression: "attribute_not_exists(SettingsID)")
                : DDBRequest(
                    TableName: tables.settings, Item: item, ConditionExpression: "Version = :v",
                    ExpressionAttributeValues: [":v": .int(replacing)])
            // A one-item transaction with a token: a replay of a put that went through is answered "written", not
            // refused by its own version condition.
            if try await write(.init(Put: put)) { return stored }
            if expectedVersion != nil { throw .versionMismatch(current: try await storedSettingsVersion()) }
        }
        throw .busy
    }

    /// The stored version, 0 when nothing is stored.
    func storedSettingsVersion() async throws(StorageError) -> Int {
        guard let item = try await get(tables.settings, Self.settingsKey) else { return 0 }
        guard let version = item["Version"]?.intValue else { throw .backend("malformed item: settings without Version") }
        return version
    }

    static func settingsDocument(_ settings: StoreSettings) throws(StorageError) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(settings), as: UTF8.self)
        } catch {
            throw .backend("cannot encode the settings: \(error)")
        }
    }

    /// The document, with the version and time of its item (what the document's own fields say is ignored).
    static func settings(_ item: Item) throws(StorageError) -> StoreSettings {
        try decode {
            let r = ItemReader(item: item)
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .millisecondsSince1970
            var settings = try decoder.decode(StoreSettings.self, from: Data(try r.string("Document").utf8))
            settings.version = try r.int("Version")
            settings.updatedAt = Date(unixMillis: try r.int64("UpdatedAt"))
            return settings
        }
    }
}

// MARK: - AddressStore

extension DynamoDBStore: AddressStore {
    /// The `AddressID` of each shopper's counter item (`Count`: how many addresses they have). `#` sorts before
    /// every character of an id, and no address has this id.
    static let addressCounterId = "#COUNT"

    static func addressKey(_ userId: String, _ id: String) -> Item { ["UserID": .s(userId), "AddressID": .s(id)] }

    static func addressItem(_ saved: SavedAddress) -> Item {
        var item = addressAttributes(saved.address)
        item["UserID"] = .s(saved.userId)
        item["AddressID"] = .s(saved.id)
        item["CreatedAt"] = .int64(saved.createdAt.ms)
        item["UpdatedAt"] = .int64(saved.updatedAt.ms)
        return item
    }

    static func savedAddress(_ item: Item) throws(StorageError) -> SavedAddress {
        try decode {
            let r = ItemReader(item: item)
            return SavedAddress(
                id: try r.string("AddressID"), userId: try r.string("UserID"), address: try address(item, attribute: "Address"),
                createdAt: Date(unixMillis: try r.int64("CreatedAt")), updatedAt: Date(unixMillis: try r.int64("UpdatedAt")))
        }
    }

    /// `ADD Count :d` on the shopper's counter item; with `limit`, only while it is below it (a missing counter is 0).
    func addressCounterUpdate(_ userId: String, by delta: Int, below limit: Int? = nil) -> DDBRequest.TransactItem {
        var values: Item = [":d": .int(delta)]
        var condition: String?
        if let limit {
            condition = "attribute_not_exists(#c) OR #c < :limit"
            values[":limit"] = .int(limit)
        }
        // COUNT is a DynamoDB reserved word: always through a placeholder.
        return DDBRequest.TransactItem(
            Update: DDBRequest(
                TableName: tables.addresses, Key: Self.addressKey(userId, Self.addressCounterId), ConditionExpression: condition,
                UpdateExpression: "ADD #c :d", ExpressionAttributeNames: ["#c": "Count"], ExpressionAttributeValues: values))
    }

    public func addresses(userId: String) async throws(StorageError) -> [SavedAddress] {
        var found: [SavedAddress] = []
        var start: Item?
        repeat {
            let page = try await call(
                "Query",
                DDBRequest(
                    TableName: tables.addresses, KeyConditionExpression: "UserID = :u", ExpressionAttributeValues: [":u": .s(userId)],
                    ConsistentRead: true, ExclusiveStartKey: start),
                as: QueryOutput.self)
            for item in page.Items ?? [] where item["AddressID"]?.string != Self.addressCounterId {
                found.append(try Self.savedAddress(item))
            }
            start = page.LastEvaluatedKey
        } while start != nil
        // Oldest first, as every backend lists them (the table sorts by id only).
        return found.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func address(userId: String, id: String) async throws(StorageError) -> SavedAddress? {
        guard id != Self.addressCounterId else { return nil }
        return try await get(tables.addresses, Self.addressKey(userId, id)).map { item throws(StorageError) in try Self.savedAddress(item) }
    }

    public func addAddress(_ saved: SavedAddress, limit: Int) async throws(StorageError) {
        guard saved.id != Self.addressCounterId else { throw .alreadyExists }
        guard limit > 0 else { throw .tooManyAddresses(limit: limit) }
        let items = [
            addressCounterUpdate(saved.userId, by: 1, below: limit),
            DDBRequest.TransactItem(
                Put: DDBRequest(
                    TableName: tables.addresses, Item: Self.addressItem(saved), ConditionExpression: "attribute_not_exists(AddressID)")),
        ]
        switch try await transactWrite(items) {
        case .written:
            return
        case .cancelled(let reasons):
            // The count is looked at first, as the SQLite store does.
            if reasons.count > 0, reasons[0].reason == .conditionFailed { throw .tooManyAddresses(limit: limit) }
            if reasons.count > 1, reasons[1].reason == .conditionFailed { throw .alreadyExists }
            throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
        }
    }

    public func updateAddress(userId: String, id: String, address: Address, at now: Date) async throws(StorageError) -> SavedAddress {
        guard id != Self.addressCounterId else { throw .notFound }
        // Every field through a placeholder (NAME, REGION and others are reserved words); absent optionals removed.
        // A plain conditional UpdateItem: replaying it writes the same values again.
        let fields = Self.addressAttributes(address)
        var names: [String: String] = ["#updated": "UpdatedAt"]
        var values: Item = [":updated": .int64(now.ms)]
        var sets = ["#updated = :updated"]
        var removes: [String] = []
        for name in ["Name", "Line1", "Line2", "City", "Region", "PostalCode", "Country", "Phone"] {
            names["#" + name] = name
            if let value = fields[name] {
                sets.append("#\(name) = :\(name)")
                values[":" + name] = value
            } else {
                removes.append("#" + name)
            }
        }
        let update = DDBRequest(
            TableName: tables.addresses, Key: Self.addressKey(userId, id), ConditionExpression: "attribute_exists(AddressID)",
            UpdateExpression: "SET " + sets.joined(separator: ", ") + (removes.isEmpty ? "" : " REMOVE " + removes.joined(separator: ", ")),
            ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: "ALL_NEW")
        guard let updated = try await conditional("UpdateItem", update) else { throw .notFound }
        return try Self.savedAddress(updated)
    }

    public func deleteAddress(userId: String, id: String) async throws(StorageError) {
        guard id != Self.addressCounterId else { throw .notFound }
        let items = [
            DDBRequest.TransactItem(
                Delete: DDBRequest(
                    TableName: tables.addresses, Key: Self.addressKey(userId, id), ConditionExpression: "attribute_exists(AddressID)")),
            addressCounterUpdate(userId, by: -1),
        ]
        switch try await transactWrite(items) {
        case .written:
            return
        case .cancelled(let reasons):
            if reasons.first?.reason == .conditionFailed { throw .notFound }
            throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
        }
    }
}

// MARK: - Fulfilment

extension DynamoDBStore {
    public func fulfilOrder(id: String, shipment: Shipment, at now: Date) async throws(StorageError) -> Order {
        // The read gives the user id that `UserStatus` is made of (it never changes); the write is conditioned on PAID.
        guard let current = try await order(id: id) else { throw .notFound }
        guard current.status == .paid else { throw .invalidTransition(current: current.status) }
        let to = OrderStatus.fulfilled
        let shipped = Self.shipmentAttributes(shipment)
        let update = DDBRequest(
            TableName: tables.orders, Key: ["OrderID": .s(id)], ConditionExpression: "#s = :paid",
            UpdateExpression: "SET #s = :to, UpdatedAt = :now, UserStatus = :us, StatusShard = :ss, Shipment = :shipment",
            ExpressionAttributeNames: ["#s": "Status"],
            ExpressionAttributeValues: [
                ":paid": .s(OrderStatus.paid.rawValue), ":to": .s(to.rawValue), ":now": .int64(now.ms),
                ":us": .s(Self.userStatus(current.userId, to)), ":ss": .s(Self.statusShard(id, to)), ":shipment": .m(shipped),
            ])
        // A one-item transaction with a token: a replay of a write that went through is not mistaken for a lost race.
        // No stock comes back and no counter moves (the open-orders counter counts PENDING_PAYMENT only).
        let event = eventPut(.transition(order: current, to: to, previous: .paid, cancelledBy: nil, at: now))
        if case .written = try await transactWrite([.init(Update: update), event]) {
            var fulfilled = current
            fulfilled.status = to
            fulfilled.updatedAt = Date(unixMillis: now.ms)
            fulfilled.shipment = try Self.decode { try Self.shipment(shipped) }
            return fulfilled
        }
        guard let moved = try await order(id: id) else { throw .notFound }
        throw .invalidTransition(current: moved.status)
    }
}
