import Foundation
import GRDB
import ShopDomain
import ShopStorage

/// The embedded backend: one SQLite file in WAL mode, every operation one transaction.
public final class SQLiteStore: Sendable {
    let pool: DatabasePool

    /// Opens (creating and migrating if needed) the database at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    /// Opens `shop.sqlite` inside `directory`, creating the directory if needed.
    public convenience init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try self.init(path: (directory as NSString).appendingPathComponent("shop.sqlite"))
    }

    /// The journal mode in force (the store uses WAL).
    public func journalMode() async throws -> String {
        try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE products (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    description TEXT NOT NULL,
                    price INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    quantity INTEGER NOT NULL CHECK (quantity >= 0),
                    category TEXT NOT NULL,
                    image_url TEXT,
                    version INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX products_by_category ON products(category, id);
                CREATE TABLE orders (
                    id TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    total INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    lines TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX orders_by_user ON orders(user_id, created_at, id);
                CREATE INDEX orders_by_status ON orders(status, created_at, id);
                CREATE INDEX orders_by_created ON orders(created_at, id);
                CREATE INDEX orders_due ON orders(status, expires_at);
                CREATE TABLE idempotency_keys (
                    user_id TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    order_id TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    PRIMARY KEY (user_id, key)
                );
                CREATE INDEX idempotency_by_expiry ON idempotency_keys(expires_at);
                CREATE TABLE users (
                    id TEXT PRIMARY KEY NOT NULL,
                    email TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    password_hash TEXT NOT NULL,
                    groups TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE refresh_tokens (
                    digest TEXT PRIMARY KEY NOT NULL,
                    user_id TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                """)
        }
        return migrator
    }

    /// Every read of this store is a single SELECT, which SQLite runs atomically on its
    /// own, so it skips GRDB's wrapping transaction (a third of a point read's cost).
    private func readOnCallerThread<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StorageError) -> T {
        do {
            return try await pool.write(body)
        } catch let error as StorageError {
            throw error
        } catch {
            throw .backend(String(describing: error))
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StorageError) -> T {
        do {
            // Reads run on the caller's thread: in WAL mode they never wait for the writer,
            // and a point read costs less than the two thread hops of the async variant.
            return try readOnCallerThread(body)
        } catch let error as StorageError {
            throw error
        } catch {
            throw .backend(String(describing: error))
        }
    }
}

// MARK: - Row mapping

extension Date {
    var millis: Int64 { unixMillis }
    init(millis: Int64) { self.init(unixMillis: millis) }
}

/// Product columns in the order `Product(row:)` reads them by index (faster than by name).
let productColumns = "id, name, description, price, currency, quantity, category, image_url, version, created_at, updated_at"

extension Product {
    init(row: Row) {
        self.init(
            id: row[0], name: row[1], description: row[2], price: row[3],
            currency: row[4], quantity: row[5], category: row[6],
            imageUrl: row[7], version: row[8],
            createdAt: Date(millis: row[9]), updatedAt: Date(millis: row[10]))
    }
}

private let linesEncoder = JSONEncoder()
private let linesDecoder = JSONDecoder()

extension Order {
    /// An unknown status is a malformed row, as it is on DynamoDB: never silently another status.
    struct UnknownStatus: Error, CustomStringConvertible {
        let status: String
        var description: String { "malformed row: unknown order status '\(status)'" }
    }

    init(row: Row) throws {
        let linesJSON: String = row["lines"]
        let rawStatus: String = row["status"]
        guard let status = OrderStatus(rawValue: rawStatus) else { throw UnknownStatus(status: rawStatus) }
        self.init(
            id: row["id"], userId: row["user_id"],
            lines: try linesDecoder.decode([OrderLine].self, from: Data(linesJSON.utf8)),
            total: row["total"], currency: row["currency"],
            status: status,
            createdAt: Date(millis: row["created_at"]), updatedAt: Date(millis: row["updated_at"]),
            expiresAt: Date(millis: row["expires_at"]))
    }
}

// MARK: - CatalogStore

extension SQLiteStore: CatalogStore {
    public func createProduct(_ product: Product) async throws(StorageError) {
        try await write { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM products WHERE id = ?"), arguments: [product.id]) == true {
                throw StorageError.alreadyExists
            }
            try db.run(
                sql: """
                    INSERT INTO products (id, name, description, price, currency, quantity, category, image_url, version, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    product.id, product.name, product.description, product.price, product.currency,
                    product.quantity, product.category, product.imageUrl, product.version,
                    product.createdAt.millis, product.updatedAt.millis,
                ])
        }
    }

    public func product(id: String) async throws(StorageError) -> Product? {
        try await read { db in try Self.fetchProduct(db, id: id) }
    }

    static func fetchProduct(_ db: Database, id: String) throws -> Product? {
        let statement = try db.cachedStatement(sql: "SELECT \(productColumns) FROM products WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [id]).map(Product.init(row:))
    }

    public func products(ids: [String]) async throws(StorageError) -> [Product] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
            return try Row.fetchAll(db, cached: "SELECT \(productColumns) FROM products WHERE id IN (\(marks))", arguments: StatementArguments(ids))
                .map(Product.init(row:))
        }
    }

    public func updateProduct(id: String, fields: ProductFields, expectedVersion: Int?, at now: Date) async throws(StorageError) -> Product {
        try await write { db in
            var sql = """
                UPDATE products SET name = ?, description = ?, price = ?, currency = ?, category = ?,
                    version = version + 1, updated_at = ?
                WHERE id = ?
                """
            var arguments: StatementArguments = [fields.name, fields.description, fields.price, fields.currency, fields.category, now.millis, id]
            if let expectedVersion {
                sql += " AND version = ?"
                arguments += [expectedVersion]
            }
            try db.run(sql: sql, arguments: arguments)
            guard let product = try Self.fetchProduct(db, id: id) else { throw StorageError.notFound }
            if db.changesCount == 0 { throw StorageError.versionMismatch(current: product.version) }
            return product
        }
    }

    public func setProductImage(id: String, imageUrl: String, at now: Date) async throws(StorageError) -> Product {
        try await write { db in
            try db.run(
                sql: "UPDATE products SET image_url = ?, version = version + 1, updated_at = ? WHERE id = ?",
                arguments: [imageUrl, now.millis, id])
            guard db.changesCount == 1, let product = try Self.fetchProduct(db, id: id) else { throw StorageError.notFound }
            return product
        }
    }

    public func deleteProduct(id: String) async throws(StorageError) {
        try await write { db in
            try db.run(sql: "DELETE FROM products WHERE id = ?", arguments: [id])
            if db.changesCount == 0 { throw StorageError.notFound }
        }
    }

    public func adjustStock(id: String, delta: Int, at now: Date) async throws(StorageError) -> Product {
        try await write { db in
            try db.run(
                sql: """
                    UPDATE products SET quantity = quantity + ?1, updated_at = ?2
                    WHERE id = ?3 AND quantity + ?1 >= 0 AND quantity + ?1 <= ?4
                    """,
                arguments: [delta, now.millis, id, Limits.stockRange.upperBound])
            let changed = db.changesCount
            guard let product = try Self.fetchProduct(db, id: id) else { throw StorageError.notFound }
            if changed == 0 {
                if delta < 0 { throw StorageError.insufficientStock(available: product.quantity) }
                throw StorageError.stockLimitExceeded(current: product.quantity)
            }
            return product
        }
    }

    public func listProducts(category: String?, limit: Int, after: String?) async throws(StorageError) -> Page<Product> {
        try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let category {
                conditions.append("category = ?")
                arguments += [category]
            }
            if let after {
                conditions.append("id > ?")
                arguments += [after]
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [limit + 1]
            let statement = try db.cachedStatement(sql: "SELECT \(productColumns) FROM products \(whereClause) ORDER BY id LIMIT ?")
            let rows = try Row.fetchAll(statement, arguments: arguments)
            let items = rows.prefix(limit).map(Product.init(row:))
            return Page(items: items, nextKey: rows.count > limit ? items.last?.id : nil)
        }
    }

    public func productCount() async throws(StorageError) -> Int {
        try await read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM products")) ?? 0 }
    }
}

// MARK: - OrderStore

extension SQLiteStore: OrderStore {
    public func placeOrder(_ order: Order, claim: IdempotencyClaim?, at now: Date) async throws(StorageError) -> PlaceOrderOutcome {
        let linesJSON = String(decoding: (try? linesEncoder.encode(order.lines)) ?? Data("[]".utf8), as: UTF8.self)
        return try await write { db in
            if let claim {
                if let row = try Row.fetchOne(db, cached: "SELECT * FROM idempotency_keys WHERE user_id = ? AND key = ? AND expires_at > ?",
                    arguments: [claim.userId, claim.key, now.millis])
                {
                    let stored = IdempotencyClaim(
                        userId: row["user_id"], key: row["key"], requestHash: row["request_hash"],
                        expiresAt: Date(millis: row["expires_at"]))
                    return .replayed(IdempotencyRecord(claim: stored, orderId: row["order_id"]))
                }
            }
            var shortages: [StockShortage] = []
            for line in order.lines {
                try db.run(
                    sql: "UPDATE products SET quantity = quantity - ?1 WHERE id = ?2 AND quantity >= ?1",
                    arguments: [line.quantity, line.productId])
                if db.changesCount == 0 {
                    guard let available = try Int.fetchOne(db.cachedStatement(sql: "SELECT quantity FROM products WHERE id = ?"), arguments: [line.productId]) else {
                        throw StorageError.productNotFound(line.productId)
                    }
                    shortages.append(StockShortage(productId: line.productId, requested: line.quantity, available: available))
                }
            }
            if !shortages.isEmpty { throw StorageError.outOfStock(shortages) }
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM orders WHERE id = ?"), arguments: [order.id]) == true {
                throw StorageError.alreadyExists
            }
            try db.run(
                sql: """
                    INSERT INTO orders (id, user_id, status, total, currency, lines, created_at, updated_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    order.id, order.userId, order.status.rawValue, order.total, order.currency, linesJSON,
                    order.createdAt.millis, order.updatedAt.millis, order.expiresAt.millis,
                ])
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
            let rows = try Row.fetchAll(db, cached: "SELECT * FROM orders \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?", arguments: arguments)
            let items = try rows.prefix(limit).map(Order.init(row:))
            let next = rows.count > limit ? items.last.map { OrderPageKey(after: $0).text } : nil
            return Page(items: items, nextKey: next)
        }
    }

    public func transitionOrder(id: String, from: Set<OrderStatus>, to: OrderStatus, expiredBy: Date?, at now: Date) async throws(StorageError) -> Order {
        try await write { db in
            let sources = from.map(\.rawValue).sorted()
            var sql = "UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status IN (\(Array(repeating: "?", count: max(sources.count, 1)).joined(separator: ",")))"
            var arguments: StatementArguments = [to.rawValue, now.millis, id]
            arguments += StatementArguments(sources.isEmpty ? [""] : sources)
            if let expiredBy {
                sql += " AND expires_at <= ?"
                arguments += [expiredBy.millis]
            }
            try db.run(sql: sql, arguments: arguments)
            let changed = db.changesCount
            guard let order = try Row.fetchOne(db, cached: "SELECT * FROM orders WHERE id = ?", arguments: [id]).map(Order.init(row:)) else {
                throw StorageError.notFound
            }
            guard changed == 1 else { throw StorageError.invalidTransition(current: order.status) }
            if to.returnsStock {
                for line in order.lines {
                    // A product deleted since keeps nothing to return stock to.
                    try db.run(sql: "UPDATE products SET quantity = quantity + ? WHERE id = ?", arguments: [line.quantity, line.productId])
                }
            }
            return order
        }
    }

    public func dueOrders(now: Date, limit: Int) async throws(StorageError) -> [Order] {
        try await read { db in
            try Row.fetchAll(db, cached: "SELECT * FROM orders WHERE status = ? AND expires_at <= ? ORDER BY expires_at LIMIT ?",
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

// MARK: - UserStore

extension SQLiteStore: UserStore {
    public func createUser(_ user: UserRecord) async throws(StorageError) {
        let groups = user.groups.joined(separator: ",")
        try await write { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM users WHERE email = ?"), arguments: [user.email]) == true {
                throw StorageError.emailTaken
            }
            try db.run(
                sql: "INSERT INTO users (id, email, name, password_hash, groups, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [user.id, user.email, user.name, user.passwordHash, groups, user.createdAt.millis])
        }
    }

    public func user(email: String) async throws(StorageError) -> UserRecord? {
        try await read { db in try Row.fetchOne(db, cached: "SELECT * FROM users WHERE email = ?", arguments: [email]).map(Self.user(row:)) }
    }

    public func user(id: String) async throws(StorageError) -> UserRecord? {
        try await read { db in try Row.fetchOne(db, cached: "SELECT * FROM users WHERE id = ?", arguments: [id]).map(Self.user(row:)) }
    }

    static func user(row: Row) -> UserRecord {
        let groups: String = row["groups"]
        return UserRecord(
            id: row["id"], email: row["email"], name: row["name"], passwordHash: row["password_hash"],
            groups: groups.split(separator: ",").map(String.init), createdAt: Date(millis: row["created_at"]))
    }

    public func saveRefreshToken(digest: String, userId: String, expiresAt: Date, now: Date) async throws(StorageError) {
        try await write { db in
            try db.run(sql: "DELETE FROM refresh_tokens WHERE expires_at <= ?", arguments: [now.millis])
            try db.run(
                sql: "INSERT INTO refresh_tokens (digest, user_id, expires_at) VALUES (?, ?, ?)",
                arguments: [digest, userId, expiresAt.millis])
        }
    }

    public func refreshTokenOwner(digest: String, now: Date) async throws(StorageError) -> String? {
        try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT user_id FROM refresh_tokens WHERE digest = ? AND expires_at > ?"),
                arguments: [digest, now.millis])
        }
    }
}

extension Database {
    /// Executes through the statement cache: hot statements are parsed once per connection.
    func run(sql: String, arguments: StatementArguments = []) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

extension Row {
    static func fetchOne(_ db: Database, cached sql: String, arguments: StatementArguments = []) throws -> Row? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchAll(_ db: Database, cached sql: String, arguments: StatementArguments = []) throws -> [Row] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}
