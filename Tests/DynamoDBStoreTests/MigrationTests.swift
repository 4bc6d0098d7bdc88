import AWSWire
import AsyncHTTPClient
import Foundation
import ShopDomain
import ShopStorage
import Testing

@testable import DynamoDBStore

/// `shop aws migrate` (Migrations.swift) on moto: tables made by the previous schema (Orders without
/// `ByUserStatus`, no `PaymentEvents`) holding orders as the previous code wrote them (no `UserStatus`,
/// no `OPEN#` counters) are brought up to the schema; a second run, a resumed run and a dry run change
/// nothing they should not. moto makes an added index ACTIVE at once, so the wait for it is not exercised.
@Suite("DynamoDB migrations (moto)")
struct MigrationTests {
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    /// A store whose tables are as the previous schema made them, empty.
    static func oldStore() async throws -> DynamoDBStore {
        let client = AWSJSONClient.dynamoDB(
            httpClient: HTTPClient.shared, region: "us-east-1",
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            endpoint: try Moto.endpoint)
        let names = DynamoDBTableNames().prefixed("m" + UUID().uuidString.prefix(8).lowercased() + "-")
        let store = DynamoDBStore(client: client, tables: names)
        for var table in DynamoDBSchema.createTables(names)
        where ![names.paymentEvents, names.events, names.stats].contains(table.TableName) {
            if table.TableName == names.orders {
                table.GlobalSecondaryIndexes?.removeAll { $0.IndexName == DynamoDBSchema.ordersByUserStatus }
                table.AttributeDefinitions.removeAll { $0.AttributeName == "UserStatus" }
            }
            if table.TableName == names.products {
                table.GlobalSecondaryIndexes?.removeAll { $0.IndexName == DynamoDBSchema.productsByStock }
                table.AttributeDefinitions.removeAll { ["StockShard", "Quantity"].contains($0.AttributeName) }
            }
            _ = try await client.call("CreateTable", table, as: Empty.self)
        }
        return store
    }

    /// The orders of the test: user-0 has 3 pending orders, user-1 2, user-2 1, user-3 none (paid, cancelled, fulfilled).
    static func orders() -> [Order] {
        let plan: [(String, OrderStatus)] = [
            ("user-0", .pendingPayment), ("user-1", .paid), ("user-0", .pendingPayment), ("user-2", .pendingPayment),
            ("user-1", .pendingPayment), ("user-3", .paid), ("user-0", .cancelled), ("user-3", .cancelled), ("user-1", .pendingPayment),
            ("user-0", .pendingPayment), ("user-3", .fulfilled), ("user-2", .cancelled),
        ]
        return plan.enumerated().map { i, entry in
            let date = t0.addingTimeInterval(Double(i))
            return Order(
                id: Identifier.make(at: date), userId: entry.0,
                lines: [OrderLine(productId: "p-\(i)", name: "Mug", unitPrice: 100, quantity: 1)],
                total: 100, currency: "USD", status: entry.1, createdAt: date, updatedAt: date, expiresAt: date.addingTimeInterval(900))
        }
    }

    static let pending = ["user-0": 3, "user-1": 2, "user-2": 1, "user-3": 0]

    /// Products as the code before `ByStock` wrote them: no `StockShard`.
    static let oldProducts = (0..<3).map { i in
        Product(
            id: "old-product-\(i)", name: "Old \(i)", description: "d", price: 100, currency: "USD", quantity: i, category: "home",
            version: 1,
            createdAt: t0, updatedAt: t0)
    }

    /// Writes the orders as the code before `ByUserStatus` and the counters did: no `UserStatus`, no `OPEN#` item; and
    /// `oldProducts` without `StockShard` and as they were before variants (stock in `Quantity` alone, no `Variants`).
    static func writeOldOrders(_ store: DynamoDBStore) async throws -> [Order] {
        for product in oldProducts {
            var item = DynamoDBStore.item(product)
            item["StockShard"] = nil
            item["Variants"] = nil
            item["Options"] = nil
            item[DynamoDBStore.stockAttribute(product.id)] = nil
            _ = try await store.client.call("PutItem", DDBRequest(TableName: store.tables.products, Item: item), as: Empty.self)
        }
        let orders = orders()
        for order in orders {
            var item = DynamoDBStore.item(order)
            item["UserStatus"] = nil
            _ = try await store.client.call("PutItem", DDBRequest(TableName: store.tables.orders, Item: item), as: Empty.self)
        }
        return orders
    }

    /// Every item of the Orders table by OrderID, read consistently.
    static func scanOrders(_ store: DynamoDBStore) async throws -> [String: Item] {
        var items: [String: Item] = [:]
        var start: Item?
        repeat {
            let page = try await store.client.call(
                "Scan", DDBRequest(TableName: store.tables.orders, ConsistentRead: true, ExclusiveStartKey: start), as: QueryOutput.self)
            for item in page.Items ?? [] { items[item["OrderID"]?.string ?? "?"] = item }
            start = page.LastEvaluatedKey
        } while start != nil
        return items
    }

    static func indexNames(_ store: DynamoDBStore, _ table: String) async throws -> [String: String] {
        let described = try #require(try await store.describe(table))
        return Dictionary(uniqueKeysWithValues: (described.GlobalSecondaryIndexes ?? []).map { ($0.IndexName, $0.IndexStatus ?? "?") })
    }

    /// The indexes the old tables lack, in the order the migration adds them.
    static func addedIndexes(_ store: DynamoDBStore) -> [String] {
        ["\(store.tables.products).\(DynamoDBSchema.productsByStock)", "\(store.tables.orders).\(DynamoDBSchema.ordersByUserStatus)"]
    }

    static func fast(_ options: MigrationOptions = MigrationOptions()) -> MigrationOptions {
        var options = options
        options.writesPerSecond = 10_000
        options.pollInterval = .milliseconds(10)
        return options
    }

    /// The state the migration must leave: every original attribute as it was, `UserStatus` on every order,
    /// the counters equal to the pending counts (absent means 0), the records applied and nothing else.
    static func expectMigrated(_ store: DynamoDBStore, before: [String: Item], orders: [Order]) async throws {
        let after = try await scanOrders(store)
        for (id, item) in before {
            let now = try #require(after[id], "order \(id) is lost")
            for (name, value) in item { #expect(now[name] == value, "\(id).\(name) changed") }
        }
        for order in orders {
            #expect(after[order.id]?["UserStatus"] == .s(DynamoDBStore.userStatus(order.userId, order.status)))
            #expect(Set(after[order.id]?.keys ?? [:].keys) == Set(before[order.id]?.keys ?? [:].keys).union(["UserStatus"]))
        }
        for (user, count) in pending {
            #expect(after["OPEN#" + user]?["OpenOrders"]?.intValue ?? 0 == count, "the counter of \(user)")
        }
        let counters = pending.values.filter { $0 > 0 }.count
        #expect(after.count == before.count + counters + DynamoDBStore.backfillIds.count)
        // Every old product has its stock shard: the low-stock list finds them.
        #expect(
            try await store.lowStock(below: 1_000_001, limit: 100).map(\.id).filter { $0.hasPrefix("old-product-") }
                == oldProducts.map(\.id))
        for id in DynamoDBStore.backfillIds {
            let record = try #require(after["MIGRATION#" + id])
            #expect(record["AppliedAt"] != nil && record["ResumeKey"] == nil)
            // No attribute any Orders index keys on, so no listing ever sees it.
            #expect(
                record.keys.filter { ["UserID", "UserStatus", "SortKey", "StatusShard", "KindShard", "ExpiresAt"].contains($0) }.isEmpty)
            #expect(try await store.order(id: "MIGRATION#" + id) == nil)
        }
    }

    @Test func upgradesOldTablesAndASecondRunDoesNothing() async throws {
        let store = try await Self.oldStore()
        let orders = try await Self.writeOldOrders(store)
        let before = try await Self.scanOrders(store)
        #expect(before.count == orders.count)

        var options = Self.fast()
        options.pageSize = 5
        let report = try await store.migrate(options)
        #expect(report.tablesCreated == [store.tables.paymentEvents, store.tables.events, store.tables.stats])
        #expect(report.indexesAdded == Self.addedIndexes(store))
        #expect(report.backfills.map(\.state) == [.applied, .applied, .applied, .applied])
        #expect(report.backfills.map(\.itemsWritten) == [orders.count, 3, Self.oldProducts.count, Self.oldProducts.count])
        #expect(report.itemsWritten == orders.count + 3 + 2 * Self.oldProducts.count)
        // Every old product is now one with its default variant, its stock and a claimed SKU; it restocks and sells.
        for old in Self.oldProducts {
            let item = try #require(try await store.productItem(id: old.id))
            #expect(!DynamoDBStore.isLegacy(item) && item[DynamoDBStore.stockAttribute(old.id)]?.intValue == old.quantity)
            let product = try #require(try await store.product(id: old.id))
            #expect(product.variants.map(\.id) == [old.id] && product.quantity == old.quantity && product.price == old.price)
            let claim = try #require(
                try await store.get(store.tables.products, ["ProductID": .s("SKU#" + SKU.key(product.variants[0].sku))]))
            #expect(claim["Owner"] == .s(old.id))
            let restocked = try await store.adjustStock(id: old.id, delta: 5, at: Self.t0)
            #expect(restocked.quantity == old.quantity + 5 && restocked.variants[0].quantity == old.quantity + 5)
        }
        #expect(!report.interrupted)
        #expect(try await Self.indexNames(store, store.tables.orders)[DynamoDBSchema.ordersByUserStatus] == "ACTIVE")
        #expect(try await store.describe(store.tables.paymentEvents) != nil)
        try await Self.expectMigrated(store, before: before, orders: orders)

        // The store works on the migrated tables: the new index answers, the counters hold the limit.
        let userPending = try await store.listOrders(userId: "user-0", status: .pendingPayment, limit: 10, after: nil)
        #expect(Set(userPending.items.map(\.id)) == Set(orders.filter { $0.userId == "user-0" && $0.status == .pendingPayment }.map(\.id)))
        let everything = try await store.listOrders(userId: nil, status: nil, limit: 100, after: nil)
        #expect(Set(everything.items.map(\.id)) == Set(orders.map(\.id)))
        let product = Product(
            id: Identifier.make(at: Self.t0), name: "Mug", description: "d", price: 100, currency: "USD", quantity: 10, category: "home",
            version: 1, createdAt: Self.t0, updatedAt: Self.t0)
        try await store.createProduct(product)
        let fourth = Order(
            id: Identifier.make(at: Self.t0.addingTimeInterval(100)), userId: "user-0",
            lines: [OrderLine(productId: product.id, name: "Mug", unitPrice: 100, quantity: 1)], total: 100, currency: "USD",
            status: .pendingPayment, createdAt: Self.t0, updatedAt: Self.t0, expiresAt: Self.t0.addingTimeInterval(900))
        await #expect(throws: StorageError.tooManyOpenOrders(limit: 3)) {
            _ = try await store.placeOrder(fourth, claim: nil, maxOpenOrders: 3, at: Self.t0)
        }
        let third = Order(
            id: Identifier.make(at: Self.t0.addingTimeInterval(101)), userId: "user-1", lines: fourth.lines, total: 100, currency: "USD",
            status: .pendingPayment, createdAt: Self.t0, updatedAt: Self.t0, expiresAt: Self.t0.addingTimeInterval(900))
        _ = try await store.placeOrder(third, claim: nil, maxOpenOrders: 3, at: Self.t0)
        let afterFirst = try await Self.scanOrders(store)
        #expect(afterFirst["OPEN#user-1"]?["OpenOrders"]?.intValue == 3)

        // Again: nothing to add, nothing to write, nothing changed.
        let again = try await store.migrate(Self.fast())
        #expect(again.tablesCreated.isEmpty && again.indexesAdded.isEmpty)
        #expect(again.backfills.map(\.state) == [.alreadyApplied, .alreadyApplied, .alreadyApplied, .alreadyApplied])
        #expect(again.itemsWritten == 0)
        #expect(try await Self.scanOrders(store) == afterFirst)

        // And the deploy's mode: backfills only, all applied.
        let deployed = try await store.migrate(Self.fast(MigrationOptions(mode: .backfillsOnly)))
        #expect(deployed.itemsWritten == 0 && deployed.indexesAdded.isEmpty && deployed.tablesCreated.isEmpty)
        #expect(try await Self.scanOrders(store) == afterFirst)
    }

    /// Before the backfill has run, a product from before variants sells, restocks and takes back a cancel's units. Orders
    /// and their returns take it as it is (stock in `Quantity`: the orders and sweep roles may write only stock); an
    /// admin's write (here a restock) gives it its default variant for real.
    @Test func aProductFromBeforeVariantsSellsBeforeTheBackfill() async throws {
        let store = try await Self.oldStore()
        _ = try await store.migrate(Self.fast())  // every table and index, the backfills run on empty tables
        _ = try await Self.writeOldOrders(store)
        let old = Self.oldProducts[2]
        #expect(try await store.productItem(id: old.id).map(DynamoDBStore.isLegacy) == true)
        #expect(try await store.product(id: old.id)?.variants.map(\.id) == [old.id])
        let order = Order(
            id: Identifier.make(at: Self.t0), userId: "buyer",
            lines: [OrderLine(productId: old.id, name: old.name, unitPrice: 100, quantity: 2)],
            total: 200, currency: "USD", status: .pendingPayment, createdAt: Self.t0, updatedAt: Self.t0,
            expiresAt: Self.t0.addingTimeInterval(900))
        _ = try await store.placeOrder(order, claim: nil, at: Self.t0)
        #expect(try await store.productItem(id: old.id).map(DynamoDBStore.isLegacy) == true)
        #expect(try await store.product(id: old.id)?.quantity == 0)
        let short = Order(
            id: Identifier.make(at: Self.t0), userId: "buyer",
            lines: [OrderLine(productId: old.id, name: old.name, unitPrice: 100, quantity: 1)],
            total: 100, currency: "USD", status: .pendingPayment, createdAt: Self.t0, updatedAt: Self.t0,
            expiresAt: Self.t0.addingTimeInterval(900))
        await #expect(throws: StorageError.outOfStock([StockShortage(productId: old.id, requested: 1, available: 0)])) {
            _ = try await store.placeOrder(short, claim: nil, at: Self.t0)
        }
        let restock = Self.oldProducts[1]
        #expect(try await store.adjustStock(id: restock.id, delta: 4, at: Self.t0).quantity == 5)
        #expect(try await store.productItem(id: restock.id).map(DynamoDBStore.isLegacy) == false)
        _ = try await store.transitionOrder(id: order.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: Self.t0)
        #expect(try await store.product(id: old.id)?.variants[0].quantity == 2)
        // Once upgraded (as the backfill would), the same product sells from its variant's own stock.
        try await store.upgradeLegacy(try #require(try await store.productItem(id: old.id)), at: Self.t0)
        let again = Order(
            id: Identifier.make(at: Self.t0), userId: "buyer",
            lines: [OrderLine(productId: old.id, name: old.name, unitPrice: 100, quantity: 2)],
            total: 200, currency: "USD", status: .pendingPayment, createdAt: Self.t0, updatedAt: Self.t0,
            expiresAt: Self.t0.addingTimeInterval(900))
        _ = try await store.placeOrder(again, claim: nil, at: Self.t0)
        #expect(try await store.productItem(id: old.id)?[DynamoDBStore.stockAttribute(old.id)]?.intValue == 0)
    }

    @Test func anInterruptedMigrationResumesWhereItStopped() async throws {
        let store = try await Self.oldStore()
        let orders = try await Self.writeOldOrders(store)
        let before = try await Self.scanOrders(store)

        // Pages of one item; stop (as a crash would) after the fourth item: three pages recorded, the
        // fourth item written but its page not recorded.
        var options = Self.fast()
        options.pageSize = 1
        options.stopAfterItems = 4
        let first = try await store.migrate(options)
        #expect(first.interrupted)
        #expect(first.backfills.map(\.state) == [.interrupted, .pending, .pending, .pending])
        #expect(first.backfills[0].itemsWritten == 4)
        let record = try #require(try await Self.scanOrders(store)["MIGRATION#" + DynamoDBStore.backfillIds[0]])
        #expect(record["ResumeKey"] != nil && record["AppliedAt"] == nil)
        #expect(record["ItemsScanned"]?.intValue == 3)

        // The same page size, to the end: it starts after the third item, and the fourth's write (already
        // made) changes nothing.
        options.stopAfterItems = nil
        let second = try await store.migrate(options)
        #expect(!second.interrupted)
        #expect(second.indexesAdded.isEmpty)
        #expect(second.backfills.map(\.state) == [.applied, .applied, .applied, .applied])
        #expect(second.backfills[0].resumed && !second.backfills[1].resumed)
        // Items 4 to the end of the orders, plus the migration record itself, were scanned again: not the first three.
        #expect(second.backfills[0].itemsScanned == orders.count - 3 + 1)
        #expect(first.backfills[0].itemsWritten + second.backfills[0].itemsWritten == orders.count)
        try await Self.expectMigrated(store, before: before, orders: orders)

        let third = try await store.migrate(options)
        #expect(
            third.itemsWritten == 0 && third.backfills.map(\.state) == [.alreadyApplied, .alreadyApplied, .alreadyApplied, .alreadyApplied])
    }

    @Test func anInterruptedCounterBackfillResumes() async throws {
        let store = try await Self.oldStore()
        let orders = try await Self.writeOldOrders(store)
        let before = try await Self.scanOrders(store)
        var options = Self.fast()
        options.pageSize = 2
        // The first backfill scans the orders and its own record; stop two items into the second one.
        options.stopAfterItems = orders.count + 1 + 2
        let first = try await store.migrate(options)
        #expect(first.backfills.map(\.state) == [.applied, .interrupted, .pending, .pending])
        options.stopAfterItems = nil
        let second = try await store.migrate(options)
        #expect(second.backfills.map(\.state) == [.alreadyApplied, .applied, .applied, .applied])
        #expect(first.backfills[1].itemsWritten + second.backfills[1].itemsWritten == 3)
        try await Self.expectMigrated(store, before: before, orders: orders)
    }

    @Test func aDryRunChangesNothing() async throws {
        let store = try await Self.oldStore()
        let orders = try await Self.writeOldOrders(store)
        let before = try await Self.scanOrders(store)
        let indexesBefore = try await Self.indexNames(store, store.tables.orders)

        for mode in [MigrationOptions.Mode.full, .backfillsOnly] {
            let report = try await store.migrate(Self.fast(MigrationOptions(mode: mode, dryRun: true)))
            #expect(report.dryRun)
            if mode == .full {
                #expect(report.tablesCreated == [store.tables.paymentEvents, store.tables.events, store.tables.stats])
                #expect(report.indexesAdded == Self.addedIndexes(store))
            } else {
                #expect(report.tablesCreated.isEmpty && report.indexesAdded.isEmpty)
            }
            #expect(report.backfills.map(\.state) == [.pending, .pending, .pending, .pending])
            #expect(report.itemsWritten == 0)
            #expect(try await Self.scanOrders(store) == before)
            #expect(try await Self.indexNames(store, store.tables.orders) == indexesBefore)
            #expect(try await store.describe(store.tables.paymentEvents) == nil)
        }

        // After a real run, a dry run says everything is done.
        _ = try await store.migrate(Self.fast())
        let done = try await store.migrate(Self.fast(MigrationOptions(dryRun: true)))
        #expect(done.tablesCreated.isEmpty && done.indexesAdded.isEmpty)
        #expect(done.backfills.map(\.state) == [.alreadyApplied, .alreadyApplied, .alreadyApplied, .alreadyApplied])
        #expect(orders.count == 12)
    }

    @Test func anIndexWithOtherKeysStopsTheMigrationBeforeAnyChange() async throws {
        let client = AWSJSONClient.dynamoDB(
            httpClient: HTTPClient.shared, region: "us-east-1",
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            endpoint: try Moto.endpoint)
        let names = DynamoDBTableNames().prefixed("m" + UUID().uuidString.prefix(8).lowercased() + "-")
        let store = DynamoDBStore(client: client, tables: names)
        // Orders as an older schema had it: ByStatus keyed on Status, not on the shards.
        var orders = try #require(DynamoDBSchema.createTables(names).first { $0.TableName == names.orders })
        orders.GlobalSecondaryIndexes = orders.GlobalSecondaryIndexes?.map { index in
            var index = index
            if index.IndexName == DynamoDBSchema.ordersByStatus { index.KeySchema = DynamoDBSchema.key("Status", "SortKey") }
            return index
        }
        orders.AttributeDefinitions.append(DynamoDBSchema.Attribute(AttributeName: "Status", AttributeType: "S"))
        _ = try await client.call("CreateTable", orders, as: Empty.self)

        let dry = try await store.migrate(Self.fast(MigrationOptions(dryRun: true)))
        #expect(dry.problems.count == 1 && dry.problems[0].contains(DynamoDBSchema.ordersByStatus))
        await #expect(throws: MigrationError.self) { _ = try await store.migrate(Self.fast()) }
        #expect(try await store.describe(names.products) == nil, "nothing was created")
    }
}
