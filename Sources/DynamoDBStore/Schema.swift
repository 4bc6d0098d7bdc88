#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Table names, configurable so that several stores (or test runs) share one account.
public struct DynamoDBTableNames: Sendable, Equatable {
    public var products: String
    public var orders: String
    public var idempotency: String
    public var users: String
    public var payments: String
    public var paymentEvents: String
    /// The store settings document (one item, `SettingsID = "store"`).
    public var settings: String
    /// Shoppers' address books (hash `UserID`, range `AddressID`), with a `#COUNT` item per shopper.
    public var addresses: String
    /// The outbox: order events (hash `OrderID`, range `Key`) and their deliveries, with a stream.
    public var events: String
    /// The merchant's figures (hash `PK`, range `SK`), kept from the outbox.
    public var stats: String

    public init(
        products: String = "Products", orders: String = "Orders", idempotency: String = "Idempotency", users: String = "Users",
        payments: String = "Payments", paymentEvents: String = "PaymentEvents", settings: String = "Settings",
        addresses: String = "Addresses", events: String = "Events", stats: String = "Stats"
    ) {
        self.products = products
        self.orders = orders
        self.idempotency = idempotency
        self.users = users
        self.payments = payments
        self.paymentEvents = paymentEvents
        self.settings = settings
        self.addresses = addresses
        self.events = events
        self.stats = stats
    }

    /// The same tables with `prefix` in front of each name.
    public func prefixed(_ prefix: String) -> DynamoDBTableNames {
        DynamoDBTableNames(
            products: prefix + products, orders: prefix + orders, idempotency: prefix + idempotency, users: prefix + users,
            payments: prefix + payments, paymentEvents: prefix + paymentEvents, settings: prefix + settings,
            addresses: prefix + addresses, events: prefix + events, stats: prefix + stats)
    }
}

/// The one description of the tables: `CreateTable` requests are generated from it (and,
/// later, the SAM template's resources), so the two cannot drift apart.
public enum DynamoDBSchema {
    struct Attribute: Encodable {
        var AttributeName: String
        var AttributeType: String
    }
    struct KeyElement: Encodable {
        var AttributeName: String
        var KeyType: String
    }
    struct ProjectionSpec: Encodable {
        var ProjectionType = "ALL"
        var NonKeyAttributes: [String]? = nil
        /// Only the keys: the catalog listings, so that a sale (a change of `Quantity`) does not rewrite them.
        static let keysOnly = ProjectionSpec(ProjectionType: "KEYS_ONLY")
    }
    struct Index: Encodable {
        var IndexName: String
        var KeySchema: [KeyElement]
        var Projection = ProjectionSpec()
    }
    struct CreateTable: Encodable {
        var TableName: String
        var AttributeDefinitions: [Attribute]
        var KeySchema: [KeyElement]
        var GlobalSecondaryIndexes: [Index]?
        var BillingMode = "PAY_PER_REQUEST"
        var StreamSpecification: Stream?
    }
    struct Stream: Encodable {
        var StreamEnabled = true
        var StreamViewType = "NEW_IMAGE"
    }
    /// A table's TTL attribute (`UpdateTimeToLive`).
    struct TimeToLive: Encodable {
        struct Specification: Encodable {
            var Enabled = true
            var AttributeName: String
        }
        var TableName: String
        var TimeToLiveSpecification: Specification
    }

    static func key(_ hash: String, _ range: String? = nil) -> [KeyElement] {
        [KeyElement(AttributeName: hash, KeyType: "HASH")] + (range.map { [KeyElement(AttributeName: $0, KeyType: "RANGE")] } ?? [])
    }

    static func strings(_ names: String...) -> [Attribute] { names.map { Attribute(AttributeName: $0, AttributeType: "S") } }

    // Index names, used by the store's queries.
    static let productsByCatalog = "ByCatalog"
    static let productsByCategory = "ByCategory"
    /// Products by stock, for the low-stock list: hash `StockShard`, range `Quantity`; only the name is projected.
    static let productsByStock = "ByStock"
    static let ordersByUser = "ByUser"
    /// One shopper's orders in one status (`UserStatus` = "<user id>#<status>"): filtered listings in one query a page.
    static let ordersByUserStatus = "ByUserStatus"
    /// Every order in one status, newest first: hash `StatusShard` = "<status>#<shard>", so one status is
    /// `orderShards` partitions, not one (docs/DYNAMODB.md, capacity model).
    static let ordersByStatus = "ByStatus"
    /// Every order, newest first: hash `KindShard` = "ORDER#<shard>".
    static let ordersByCreated = "ByCreated"
    /// Pending orders by expiry: hash `StatusShard`, range `ExpiresAt`.
    static let ordersDue = "Due"
    /// How many partitions the order listings (`ByCreated`, `ByStatus`, `Due`) spread each key over. A
    /// listing page queries every shard and merges them by sort key. Changing it needs the orders rewritten.
    static let orderShards = 16
    static let paymentsByOrder = "ByOrder"
    /// Sparse: only payments with money still owed back carry `DueFlag`.
    static let paymentsRefundDue = "RefundDue"

    /// The outbox's sparse index of work: events not yet dispatched (`DueShard` = "EVENT#<shard>") and pending
    /// deliveries ("DELIVERY#<shard>"), by `DueAt`.
    static let eventsDue = "Due"
    /// Partitions each kind of `Due` entry is spread over (by the order id's hash).
    static let eventShards = 4

    static func createTables(_ names: DynamoDBTableNames) -> [CreateTable] {
        [
            CreateTable(
                TableName: names.products,
                AttributeDefinitions: strings("ProductID", "Catalog", "Category", "StockShard")
                    + [Attribute(AttributeName: "Quantity", AttributeType: "N")],
                KeySchema: key("ProductID"),
                GlobalSecondaryIndexes: [
                    Index(IndexName: productsByCatalog, KeySchema: key("Catalog", "ProductID"), Projection: .keysOnly),
                    Index(IndexName: productsByCategory, KeySchema: key("Category", "ProductID"), Projection: .keysOnly),
                    Index(
                        IndexName: productsByStock, KeySchema: key("StockShard", "Quantity"),
                        Projection: ProjectionSpec(ProjectionType: "INCLUDE", NonKeyAttributes: ["Name"])),
                ]),
            CreateTable(
                TableName: names.orders,
                AttributeDefinitions: strings("OrderID", "UserID", "KindShard", "StatusShard", "SortKey", "UserStatus")
                    + [Attribute(AttributeName: "ExpiresAt", AttributeType: "N")],
                KeySchema: key("OrderID"),
                GlobalSecondaryIndexes: [
                    Index(IndexName: ordersByUser, KeySchema: key("UserID", "SortKey")),
                    Index(IndexName: ordersByUserStatus, KeySchema: key("UserStatus", "SortKey")),
                    Index(IndexName: ordersByStatus, KeySchema: key("StatusShard", "SortKey")),
                    Index(IndexName: ordersByCreated, KeySchema: key("KindShard", "SortKey")),
                    Index(IndexName: ordersDue, KeySchema: key("StatusShard", "ExpiresAt")),
                ]),
            CreateTable(TableName: names.idempotency, AttributeDefinitions: strings("IdempotencyKey"), KeySchema: key("IdempotencyKey")),
            CreateTable(TableName: names.users, AttributeDefinitions: strings("PK"), KeySchema: key("PK")),
            CreateTable(
                TableName: names.payments,
                AttributeDefinitions: strings("PaymentID", "OrderID", "DueFlag")
                    + [
                        Attribute(AttributeName: "CreatedAt", AttributeType: "N"),
                        Attribute(AttributeName: "UpdatedAt", AttributeType: "N"),
                    ],
                KeySchema: key("PaymentID"),
                GlobalSecondaryIndexes: [
                    Index(IndexName: paymentsByOrder, KeySchema: key("OrderID", "CreatedAt")),
                    Index(IndexName: paymentsRefundDue, KeySchema: key("DueFlag", "UpdatedAt")),
                ]),
            CreateTable(TableName: names.paymentEvents, AttributeDefinitions: strings("EventID"), KeySchema: key("EventID")),
            // Not in Products, where `GET /products/{id}` would answer them: tables of their own.
            CreateTable(TableName: names.settings, AttributeDefinitions: strings("SettingsID"), KeySchema: key("SettingsID")),
            CreateTable(
                TableName: names.addresses, AttributeDefinitions: strings("UserID", "AddressID"), KeySchema: key("UserID", "AddressID")),
            CreateTable(
                TableName: names.events,
                AttributeDefinitions: strings("OrderID", "Key", "DueShard") + [Attribute(AttributeName: "DueAt", AttributeType: "N")],
                KeySchema: key("OrderID", "Key"),
                GlobalSecondaryIndexes: [Index(IndexName: eventsDue, KeySchema: key("DueShard", "DueAt"))],
                StreamSpecification: Stream()),
            CreateTable(TableName: names.stats, AttributeDefinitions: strings("PK", "SK"), KeySchema: key("PK", "SK")),
        ]
    }

    static func timeToLive(_ names: DynamoDBTableNames) -> [TimeToLive] {
        [
            TimeToLive(TableName: names.idempotency, TimeToLiveSpecification: .init(AttributeName: "TTL")),
            TimeToLive(TableName: names.users, TimeToLiveSpecification: .init(AttributeName: "TTL")),
            TimeToLive(TableName: names.paymentEvents, TimeToLiveSpecification: .init(AttributeName: "TTL")),
        ]
    }
}
