import AWSWire
import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// `shop aws migrate`: brings tables made by an earlier version up to `DynamoDBSchema` without making
// them again (docs/DYNAMODB.md, "Upgrading tables: shop aws migrate").
//
// - Full mode (moto, DynamoDB Local, tables made by hand): creates missing tables, adds each missing
//   index with `UpdateTable`, one at a time (DynamoDB builds one new index per table at a time), each
//   waited for until ACTIVE, then runs the backfills.
// - Backfills only (`scripts/deploy`, after `sam deploy`): on AWS the template owns tables and indexes.
// - Dry run: reads only, and reports what either mode would do.
//
// A backfill rewrites items that an older version wrote. Each has an id and a record in the Orders table
// (`OrderID = "MIGRATION#<id>"`: an item without any attribute the Orders indexes key on, which
// `order(id:)` answers nil for, like the `OPEN#` counters), holding where its Scan got to after each page
// (`ResumeKey`) and, once done, `AppliedAt`. Every item write is conditional, so a replay, a second run or
// a run resumed in the middle of a page changes nothing that was already changed.

/// What `DynamoDBStore.migrate` should do.
public struct MigrationOptions: Sendable {
    public enum Mode: String, Sendable {
        /// Tables, then indexes, then backfills.
        case full
        /// Only the backfills (the deployed stack: CloudFormation owns tables and indexes).
        case backfillsOnly
    }

    public var mode: Mode
    /// Read only; report what would be done.
    public var dryRun: Bool
    /// Item writes a second, all backfills together (a failed conditional write costs a write too).
    public var writesPerSecond: Double
    /// Items a Scan page (`Limit`); progress is recorded after each page.
    public var pageSize: Int
    /// How often `DescribeTable` is asked while a table or an index is being built.
    public var pollInterval: Duration
    /// Stop (as a crash would) after this many items have been looked at by the backfills in this run,
    /// before the current page's progress is recorded. For tests.
    public var stopAfterItems: Int?
    /// Progress lines, as they happen.
    public var log: @Sendable (String) -> Void

    public init(
        mode: Mode = .full, dryRun: Bool = false, writesPerSecond: Double = 25, pageSize: Int = 100,
        pollInterval: Duration = .seconds(5), stopAfterItems: Int? = nil, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.mode = mode
        self.dryRun = dryRun
        self.writesPerSecond = writesPerSecond
        self.pageSize = pageSize
        self.pollInterval = pollInterval
        self.stopAfterItems = stopAfterItems
        self.log = log
    }
}

/// What `migrate` did (or, in a dry run, would do).
public struct MigrationReport: Sendable, CustomStringConvertible {
    public var mode: MigrationOptions.Mode
    public var dryRun: Bool
    /// Tables created (or to create).
    public var tablesCreated: [String] = []
    /// `"<table>.<index>"`, in the order they were added (or would be).
    public var indexesAdded: [String] = []
    /// Indexes that exist under a schema name with other keys or projection: fixed by hand only.
    public var problems: [String] = []
    public var backfills: [BackfillReport] = []
    /// The run stopped early (`stopAfterItems`); running it again resumes.
    public var interrupted = false

    /// Items the backfills wrote in this run (migration records not counted).
    public var itemsWritten: Int { backfills.reduce(0) { $0 + $1.itemsWritten } }

    public var description: String {
        var lines: [String] = []
        let verb = dryRun ? "would " : ""
        if mode == .full {
            lines.append(tablesCreated.isEmpty ? "tables: all exist" : "tables: \(verb)create \(tablesCreated.joined(separator: ", "))")
            lines.append(indexesAdded.isEmpty ? "indexes: all exist" : "indexes: \(verb)add \(indexesAdded.joined(separator: ", "))")
            for problem in problems { lines.append("problem: \(problem)") }
        }
        for backfill in backfills { lines.append("backfill \(backfill)") }
        lines.append(
            dryRun
                ? "dry run: nothing changed"
                : "items written: \(itemsWritten)\(interrupted ? " (interrupted: run it again to resume)" : "")")
        return lines.joined(separator: "\n")
    }
}

public struct BackfillReport: Sendable, CustomStringConvertible {
    public enum State: String, Sendable {
        /// Ran to its end in this run.
        case applied
        /// Its record says it was applied before: nothing done.
        case alreadyApplied = "already applied"
        /// Not run (a dry run, or a run stopped before it).
        case pending
        /// Stopped in this run before its end (`stopAfterItems`); the next run resumes it.
        case interrupted
    }

    public var id: String
    public var state: State
    /// It started from a `ResumeKey` recorded by an earlier run.
    public var resumed: Bool
    /// Items its Scan returned in this run (orders, counters and records alike).
    public var itemsScanned: Int
    /// Items it changed in this run.
    public var itemsWritten: Int

    public var description: String {
        "\(id): \(state.rawValue)\(resumed ? " (resuming where a run stopped)" : "")"
            + (state == .pending || state == .alreadyApplied ? "" : ", \(itemsScanned) items scanned, \(itemsWritten) written")
    }
}

public struct MigrationError: Error, CustomStringConvertible {
    public var description: String
}

extension DynamoDBStore {
    /// The backfills, in the order they run. Ids never change once released: they name the records.
    public static let backfillIds = Backfill.allCases.map(\.rawValue)

    enum Backfill: String, CaseIterable {
        /// `UserStatus` (the `ByUserStatus` index's key) on orders written before that index existed.
        case ordersUserStatus = "2026-12-orders-user-status"
        /// The `OPEN#<user>` counters of shoppers whose orders predate them, from their pending orders.
        case openOrderCounters = "2026-12-orders-open-counters"
        /// `StockShard` (the `ByStock` index's key, for the merchant's low-stock list) on products made before it.
        case productsStockShard = "2026-12-products-stock-shard"
        /// Products made before variants get their default variant (id = the product's, a SKU claimed, the stock
        /// moved to `Stock#<id>`), as an admin's write to one does.
        case productsVariants = "2026-12-products-variants"

        /// What its Scan needs of an item.
        var projection: (expression: String, names: [String: String]) {
            switch self {
            case .ordersUserStatus: ("OrderID, UserID, #s, UserStatus", ["#s": "Status"])
            case .openOrderCounters: ("OrderID, UserID", [:])
            case .productsStockShard: ("ProductID, StockShard", [:])
            case .productsVariants: ("ProductID, #v", ["#v": "Variants"])
            }
        }

        /// The table it scans.
        func table(_ tables: DynamoDBTableNames) -> String {
            self == .productsStockShard || self == .productsVariants ? tables.products : tables.orders
        }
    }

    static let migrationPrefix = "MIGRATION#"
    static func migrationKey(_ id: String) -> Item { ["OrderID": .s(migrationPrefix + id)] }

    /// Upgrades the tables in place (see the top of this file). In full mode, throws before changing anything
    /// when a table holds an index of a schema's name with other keys (that needs the index dropped by hand);
    /// a dry run lists it in `problems`.
    public func migrate(_ options: MigrationOptions) async throws -> MigrationReport {
        guard options.writesPerSecond > 0, options.pageSize > 0 else {
            throw MigrationError(description: "the write rate and the page size must be positive")
        }
        var report = MigrationReport(mode: options.mode, dryRun: options.dryRun)
        var ordersTableExists = true
        if options.mode == .full {
            let plan = try await plan()
            report.tablesCreated = plan.missingTables.map(\.TableName)
            report.indexesAdded = plan.missingIndexes.map { "\($0.table).\($0.index.IndexName)" }
            report.problems = plan.problems
            ordersTableExists = !report.tablesCreated.contains(tables.orders)
            if !plan.problems.isEmpty && !options.dryRun {
                throw MigrationError(description: "cannot migrate: " + plan.problems.joined(separator: "; "))
            }
            if !options.dryRun {
                try await apply(plan, options)
                ordersTableExists = true
            }
        }
        for backfill in Backfill.allCases {
            if options.dryRun || report.interrupted {
                let record = ordersTableExists ? try await get(tables.orders, Self.migrationKey(backfill.rawValue)) : nil
                let state: BackfillReport.State = record?["AppliedAt"] != nil ? .alreadyApplied : .pending
                report.backfills.append(
                    BackfillReport(
                        id: backfill.rawValue, state: state, resumed: record?["ResumeKey"] != nil, itemsScanned: 0, itemsWritten: 0))
                continue
            }
            let outcome = try await run(backfill, options, alreadyLookedAt: report.backfills.reduce(0) { $0 + $1.itemsScanned })
            report.backfills.append(outcome)
            if outcome.state == .interrupted { report.interrupted = true }
        }
        return report
    }

    // MARK: tables and indexes

    struct MigrationPlan {
        var missingTables: [DynamoDBSchema.CreateTable] = []
        var missingIndexes: [(table: String, index: DynamoDBSchema.Index, attributes: [DynamoDBSchema.Attribute])] = []
        var problems: [String] = []
    }

    /// Compares each table of the schema with what `DescribeTable` says.
    func plan() async throws -> MigrationPlan {
        var plan = MigrationPlan()
        for wanted in DynamoDBSchema.createTables(tables) {
            guard let table = try await describe(wanted.TableName) else {
                plan.missingTables.append(wanted)
                continue
            }
            let existing = Dictionary((table.GlobalSecondaryIndexes ?? []).map { ($0.IndexName, $0) }, uniquingKeysWith: { a, _ in a })
            for index in wanted.GlobalSecondaryIndexes ?? [] {
                guard let found = existing[index.IndexName] else {
                    let keyNames = Set(index.KeySchema.map(\.AttributeName))
                    plan.missingIndexes.append(
                        (wanted.TableName, index, wanted.AttributeDefinitions.filter { keyNames.contains($0.AttributeName) }))
                    continue
                }
                let foundKeys = (found.KeySchema ?? []).map { "\($0.AttributeName) \($0.KeyType)" }
                let wantedKeys = index.KeySchema.map { "\($0.AttributeName) \($0.KeyType)" }
                if foundKeys != wantedKeys || (found.Projection?.ProjectionType.map { $0 != index.Projection.ProjectionType } ?? false) {
                    plan.problems.append(
                        "\(wanted.TableName).\(index.IndexName) has keys [\(foundKeys.joined(separator: ", "))] and projection "
                            + "\(found.Projection?.ProjectionType ?? "?"), the schema [\(wantedKeys.joined(separator: ", "))] and "
                            + "\(index.Projection.ProjectionType): delete that index (UpdateTable) or make the table again")
                }
            }
        }
        return plan
    }

    func apply(_ plan: MigrationPlan, _ options: MigrationOptions) async throws {
        for table in plan.missingTables {
            options.log("creating table \(table.TableName)")
            do {
                _ = try await client.call("CreateTable", table, as: Empty.self)
            } catch let error as AWSError where error.code == .resourceInUse {
                // Made meanwhile by someone else: fine.
            }
            try await waitUntilActive(table.TableName, index: nil, options)
            for ttl in DynamoDBSchema.timeToLive(tables) where ttl.TableName == table.TableName {
                _ = try await client.call("UpdateTimeToLive", ttl, as: Empty.self)
            }
        }
        // One index at a time, each ACTIVE before the next: DynamoDB refuses a second index creation on a
        // table while one is being built (and any UpdateTable while the table is UPDATING).
        for missing in plan.missingIndexes {
            try await waitUntilActive(missing.table, index: nil, options)
            guard let table = try await describe(missing.table) else {
                throw MigrationError(description: "table \(missing.table) vanished")
            }
            if (table.GlobalSecondaryIndexes ?? []).contains(where: { $0.IndexName == missing.index.IndexName }) {
                // Added meanwhile (another run): just wait for it below.
                options.log("\(missing.table).\(missing.index.IndexName) exists already")
            } else {
                options.log("adding index \(missing.table).\(missing.index.IndexName)")
                // The table's own definitions too: DynamoDB merges them, moto replaces the list with this one.
                var definitions = (table.AttributeDefinitions ?? []).map {
                    DynamoDBSchema.Attribute(AttributeName: $0.AttributeName, AttributeType: $0.AttributeType)
                }
                for attribute in missing.attributes where !definitions.contains(where: { $0.AttributeName == attribute.AttributeName }) {
                    definitions.append(attribute)
                }
                let update = UpdateTableRequest(
                    TableName: missing.table, AttributeDefinitions: definitions, GlobalSecondaryIndexUpdates: [.init(Create: missing.index)]
                )
                do {
                    _ = try await client.call("UpdateTable", update, as: Empty.self)
                } catch let error as AWSError {
                    // A retried request whose first attempt went through (or another run) is refused as a
                    // duplicate: fine if the index is there now.
                    let now = try await describe(missing.table)
                    guard (now?.GlobalSecondaryIndexes ?? []).contains(where: { $0.IndexName == missing.index.IndexName }) else {
                        throw error
                    }
                }
            }
            try await waitUntilActive(missing.table, index: missing.index.IndexName, options)
        }
    }

    /// Polls `DescribeTable` until the table, and `index` if given, are ACTIVE (an index also done
    /// backfilling). moto makes tables and indexes ACTIVE at once, so the tests never see the waiting;
    /// DynamoDB takes seconds for a table and minutes to hours for an index on a large table.
    func waitUntilActive(_ tableName: String, index: String?, _ options: MigrationOptions) async throws {
        while true {
            guard let table = try await describe(tableName) else { throw MigrationError(description: "table \(tableName) does not exist") }
            var waitingFor: [String] = []
            if let status = table.TableStatus, status != "ACTIVE" { waitingFor.append("table \(tableName) is \(status)") }
            for found in table.GlobalSecondaryIndexes ?? [] where index == nil || found.IndexName == index {
                if let status = found.IndexStatus, status != "ACTIVE" || found.Backfilling == true {
                    waitingFor.append(
                        "index \(tableName).\(found.IndexName) is \(status)\(found.Backfilling == true ? " (backfilling)" : "")")
                }
            }
            if let index, !(table.GlobalSecondaryIndexes ?? []).contains(where: { $0.IndexName == index }) {
                waitingFor.append("index \(tableName).\(index) is not listed yet")
            }
            if waitingFor.isEmpty { return }
            options.log("waiting: " + waitingFor.joined(separator: "; "))
            try await Task.sleep(for: options.pollInterval)
        }
    }

    /// The table's description, or nil when it does not exist.
    func describe(_ tableName: String) async throws -> DescribeTableOutput.Table? {
        do {
            return try await client.call("DescribeTable", DescribeTableRequest(TableName: tableName), as: DescribeTableOutput.self).Table
        } catch let error as AWSError where error.code == .resourceNotFound {
            return nil
        }
    }

    // MARK: backfills

    /// One backfill from its record's position (or the start) to the end of the Orders table, or until
    /// `options.stopAfterItems`.
    func run(_ backfill: Backfill, _ options: MigrationOptions, alreadyLookedAt: Int) async throws -> BackfillReport {
        let key = Self.migrationKey(backfill.rawValue)
        let record = try await get(tables.orders, key)
        var report = BackfillReport(id: backfill.rawValue, state: .applied, resumed: false, itemsScanned: 0, itemsWritten: 0)
        if record?["AppliedAt"] != nil {
            report.state = .alreadyApplied
            return report
        }
        var start: Item?
        if case .m(let resumeKey)? = record?["ResumeKey"] {
            start = resumeKey
            report.resumed = true
        }
        var totalScanned = record?["ItemsScanned"]?.intValue ?? 0
        let writtenBefore = record?["ItemsWritten"]?.intValue ?? 0
        var pacer = Pacer(writesPerSecond: options.writesPerSecond)
        var countedUsers: Set<String> = []
        options.log("backfill \(backfill.rawValue): \(report.resumed ? "resuming" : "starting")")
        repeat {
            let projection = backfill.projection
            let page = try await call(
                "Scan",
                DDBRequest(
                    TableName: backfill.table(tables), ProjectionExpression: projection.expression,
                    ExpressionAttributeNames: projection.names.isEmpty ? nil : projection.names, ConsistentRead: true,
                    Limit: options.pageSize, ExclusiveStartKey: start),
                as: QueryOutput.self)
            for item in page.Items ?? [] {
                report.itemsScanned += 1
                if try await backfillItem(item, backfill, &pacer, &countedUsers) { report.itemsWritten += 1 }
                if let stop = options.stopAfterItems, alreadyLookedAt + report.itemsScanned >= stop {
                    // As a crash here would: this page's progress is not recorded, its writes are.
                    report.state = .interrupted
                    options.log("backfill \(backfill.rawValue): stopped after \(report.itemsScanned) items")
                    return report
                }
            }
            totalScanned += page.Items?.count ?? 0
            start = page.LastEvaluatedKey
            await pacer.wait()
            try await saveProgress(backfill, next: start, scanned: totalScanned, written: writtenBefore + report.itemsWritten)
        } while start != nil
        options.log("backfill \(backfill.rawValue): applied, \(report.itemsScanned) items scanned, \(report.itemsWritten) written")
        return report
    }

    /// Records where the Scan got to, or (at its end) that the backfill is applied. Never rewinds an
    /// applied record (another run may have finished first).
    func saveProgress(_ backfill: Backfill, next: Item?, scanned: Int, written: Int) async throws {
        var values: Item = [
            ":id": .s(backfill.rawValue), ":now": .int64(Date().ms), ":scanned": .int(scanned), ":written": .int(written),
        ]
        var update =
            "SET MigrationID = :id, StartedAt = if_not_exists(StartedAt, :now), UpdatedAt = :now, ItemsScanned = :scanned, ItemsWritten = :written"
        if let next {
            update += ", ResumeKey = :resume"
            values[":resume"] = .m(next)
        } else {
            update += ", AppliedAt = :now REMOVE ResumeKey"
        }
        _ = try await conditional(
            "UpdateItem",
            DDBRequest(
                TableName: tables.orders, Key: Self.migrationKey(backfill.rawValue), ConditionExpression: "attribute_not_exists(AppliedAt)",
                UpdateExpression: update, ExpressionAttributeValues: values))
    }

    /// Whether it changed the item (or, for the counters, created one).
    func backfillItem(_ item: Item, _ backfill: Backfill, _ pacer: inout Pacer, _ countedUsers: inout Set<String>) async throws -> Bool {
        if backfill == .productsVariants {
            // SKU claims share the table; a product written since (or upgraded by a write) has its variants.
            guard let productId = item["ProductID"]?.string, !productId.hasPrefix(Self.skuPrefix), item["Variants"] == nil,
                let full = try await productItem(id: productId), Self.isLegacy(full)
            else { return false }
            await pacer.wait()
            try await upgradeLegacy(full, at: Date())
            return true
        }
        if backfill == .productsStockShard {
            guard let productId = item["ProductID"]?.string, !productId.hasPrefix(Self.skuPrefix), item["StockShard"] == nil else {
                return false
            }
            await pacer.wait()
            // A product deleted meanwhile is left deleted; one written meanwhile has its shard already.
            return try await conditional(
                "UpdateItem",
                DDBRequest(
                    TableName: tables.products, Key: ["ProductID": .s(productId)],
                    ConditionExpression: "attribute_exists(ProductID) AND attribute_not_exists(StockShard)",
                    UpdateExpression: "SET StockShard = :shard", ExpressionAttributeValues: [":shard": .s(Self.stockShard(productId))]))
                != nil
        }
        // Only orders: not the counters, not the migration records.
        guard let orderId = item["OrderID"]?.string, !orderId.hasPrefix("OPEN#"), !orderId.hasPrefix(Self.migrationPrefix),
            let userId = item["UserID"]?.string
        else { return false }
        switch backfill {
        case .ordersUserStatus:
            guard item["UserStatus"] == nil, let raw = item["Status"]?.string, let status = OrderStatus(rawValue: raw) else { return false }
            // Conditioned on the status read: an order moved meanwhile got its UserStatus from the move.
            await pacer.wait()
            return try await conditional(
                "UpdateItem",
                DDBRequest(
                    TableName: tables.orders, Key: ["OrderID": .s(orderId)],
                    ConditionExpression: "attribute_exists(OrderID) AND attribute_not_exists(UserStatus) AND #s = :status",
                    UpdateExpression: "SET UserStatus = :us", ExpressionAttributeNames: ["#s": "Status"],
                    ExpressionAttributeValues: [":status": .s(raw), ":us": .s(Self.userStatus(userId, status))])) != nil
        case .productsStockShard, .productsVariants:
            return false
        case .openOrderCounters:
            // A shopper appears once per order; look at each once a run (a resumed run may look again: harmless).
            guard countedUsers.insert(userId).inserted else { return false }
            // An existing counter is left alone: it is live (placing and moving orders ADD to it).
            guard try await get(tables.orders, Self.openCounterKey(userId)) == nil else { return false }
            let pending = try await pendingOrderCount(userId)
            // No counter means 0 to the live code (its condition is `attribute_not_exists(OpenOrders) OR ...`).
            guard pending > 0 else { return false }
            await pacer.wait()
            // Only where no counter exists yet: one made by live traffic since the read above wins.
            var counter = Self.openCounterKey(userId)
            counter["OpenOrders"] = .int(pending)
            return try await conditional(
                "PutItem", DDBRequest(TableName: tables.orders, Item: counter, ConditionExpression: "attribute_not_exists(OrderID)")) != nil
        }
    }

    /// The shopper's PENDING_PAYMENT orders, through `ByUser` (which older tables have too).
    func pendingOrderCount(_ userId: String) async throws -> Int {
        var count = 0
        var start: Item?
        repeat {
            let page = try await call(
                "Query",
                DDBRequest(
                    TableName: tables.orders, KeyConditionExpression: "UserID = :u", FilterExpression: "#s = :pending",
                    ProjectionExpression: "OrderID", ExpressionAttributeNames: ["#s": "Status"],
                    ExpressionAttributeValues: [":u": .s(userId), ":pending": .s(OrderStatus.pendingPayment.rawValue)],
                    IndexName: DynamoDBSchema.ordersByUser, ExclusiveStartKey: start),
                as: QueryOutput.self)
            count += (page.Items ?? []).filter { $0["OrderID"]?.string.map { !$0.hasPrefix("OPEN#") } ?? false }.count
            start = page.LastEvaluatedKey
        } while start != nil
        return count
    }
}

/// Spaces writes to at most `writesPerSecond`.
struct Pacer {
    let interval: Duration
    var next: ContinuousClock.Instant?

    init(writesPerSecond: Double) {
        interval = .nanoseconds(Int64((1_000_000_000 / writesPerSecond).rounded()))
    }

    mutating func wait() async {
        let clock = ContinuousClock()
        let now = clock.now
        if let next, next > now { try? await Task.sleep(until: next, clock: clock) }
        next = max(now, next ?? now) + interval
    }
}

// MARK: - wire shapes

struct DescribeTableRequest: Encodable { var TableName: String }

struct DescribeTableOutput: Decodable {
    struct Key: Decodable {
        var AttributeName: String
        var KeyType: String
    }
    struct Definition: Decodable {
        var AttributeName: String
        var AttributeType: String
    }
    struct Projection: Decodable { var ProjectionType: String? }
    struct Index: Decodable {
        var IndexName: String
        var KeySchema: [Key]?
        var Projection: Projection?
        var IndexStatus: String?
        var Backfilling: Bool?
    }
    struct Table: Decodable {
        var TableName: String?
        var TableStatus: String?
        var AttributeDefinitions: [Definition]?
        var GlobalSecondaryIndexes: [Index]?
    }
    var Table: Table?
}

struct UpdateTableRequest: Encodable {
    struct IndexUpdate: Encodable { var Create: DynamoDBSchema.Index }
    var TableName: String
    var AttributeDefinitions: [DynamoDBSchema.Attribute]
    var GlobalSecondaryIndexUpdates: [IndexUpdate]
}
