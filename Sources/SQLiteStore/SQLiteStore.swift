import Foundation
import GRDB
import ShopDomain
import ShopStorage

/// The embedded backend: one SQLite file in WAL mode, every operation one transaction.
public final class SQLiteStore: Sendable {
    let pool: DatabasePool
    /// The catalog's reads, on connections of their own (ProductReads.swift).
    let reads: ProductReads
    /// The settings document last decoded (every quote and order reads the settings).
    let settingsCache = SettingsCache()

    /// Opens (creating and migrating if needed) the database at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
        reads = ProductReads(path: path)
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
            try db.execute(
                sql: """
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
        migrator.registerMigration("v2-payments") { db in
            try db.execute(
                sql: """
                    ALTER TABLE orders ADD COLUMN payment_id TEXT;
                    CREATE TABLE payments (
                        id TEXT PRIMARY KEY NOT NULL,
                        order_id TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        status TEXT NOT NULL,
                        amount INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        client_secret TEXT NOT NULL,
                        failure_code TEXT,
                        failure_message TEXT,
                        refunded_amount INTEGER NOT NULL DEFAULT 0,
                        refund_due INTEGER NOT NULL DEFAULT 0 CHECK (refund_due >= 0),
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE INDEX payments_by_order ON payments(order_id, created_at);
                    CREATE INDEX payments_refund_due ON payments(updated_at) WHERE refund_due > 0;
                    CREATE TABLE processed_events (
                        id TEXT PRIMARY KEY NOT NULL,
                        processed_at INTEGER NOT NULL,
                        keep_until INTEGER NOT NULL
                    );
                    CREATE INDEX processed_events_by_expiry ON processed_events(keep_until);
                    """)
        }
        // Two reads that grew with history, found by bench/soak (its req/s halved in 7 minutes): placing an order
        // counted the shopper's open orders through orders_by_user, reading every order the shopper ever placed,
        // and every sign-in dropped expired refresh tokens by scanning all of them.
        migrator.registerMigration("v3-history-indexes") { db in
            try db.execute(
                sql: """
                    CREATE INDEX orders_by_user_status ON orders(user_id, status);
                    CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens(expires_at);
                    """)
        }
        // Refunds that fail at the gateway after they were sent: each failure moves the next attempt to a new
        // idempotency key (the old one would replay the failed refund).
        migrator.registerMigration("v4-refund-failures") { db in
            try db.execute(sql: "ALTER TABLE payments ADD COLUMN refund_failures INTEGER NOT NULL DEFAULT 0")
        }
        // Shipping: the order's address, method, money breakdown and shipment (NULL on orders placed before, which
        // read with subtotal = total and no shipping or tax), the store settings document, and address books.
        migrator.registerMigration("v5-shipping") { db in
            try db.execute(
                sql: """
                    ALTER TABLE orders ADD COLUMN subtotal INTEGER;
                    ALTER TABLE orders ADD COLUMN shipping_total INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE orders ADD COLUMN shipping_tax INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE orders ADD COLUMN tax_total INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE orders ADD COLUMN shipping_address TEXT;
                    ALTER TABLE orders ADD COLUMN shipping_method TEXT;
                    ALTER TABLE orders ADD COLUMN shipment TEXT;
                    CREATE TABLE settings (
                        id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                        document TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE addresses (
                        id TEXT PRIMARY KEY NOT NULL,
                        user_id TEXT NOT NULL,
                        address TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE INDEX addresses_by_user ON addresses(user_id, created_at, id);
                    """)
        }
        // The outbox (issue 19): each order change writes its event in the same transaction; deliveries are planned
        // from it by the dispatcher and sent by the delivery worker.
        migrator.registerMigration("v6-outbox") { db in
            try db.execute(
                sql: """
                    ALTER TABLE orders ADD COLUMN email TEXT;
                    CREATE TABLE order_events (
                        seq INTEGER PRIMARY KEY,
                        order_id TEXT NOT NULL,
                        key TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        type TEXT NOT NULL,
                        occurred_at INTEGER NOT NULL,
                        status TEXT,
                        cancelled_by TEXT,
                        previous_status TEXT,
                        refund_amount INTEGER,
                        refunded_total INTEGER,
                        dispatched INTEGER NOT NULL DEFAULT 0,
                        UNIQUE (order_id, key)
                    );
                    CREATE INDEX order_events_undispatched ON order_events(seq) WHERE dispatched = 0;
                    CREATE TABLE event_deliveries (
                        order_id TEXT NOT NULL,
                        key TEXT NOT NULL,
                        name TEXT NOT NULL,
                        recipient TEXT,
                        status TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        last_error TEXT,
                        next_attempt_at INTEGER,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (order_id, key, name)
                    ) WITHOUT ROWID;
                    CREATE INDEX event_deliveries_due ON event_deliveries(next_attempt_at) WHERE status = 'pending';
                    -- The merchant's figures (GET /admin/stats) are a query over the events of a period.
                    CREATE INDEX order_events_by_time ON order_events(occurred_at);
                    -- Orders from before events existed get theirs from what they show, already dispatched (nothing is
                    -- sent for history): placed, paid (at the order's last change while PAID, else its payment's), fulfilled
                    -- or cancelled (who cancelled is not known), and what their payment refunded.
                    INSERT INTO order_events (order_id, key, user_id, type, occurred_at, status, dispatched)
                        SELECT id, '1', user_id, 'order.placed', created_at, 'PENDING_PAYMENT', 1 FROM orders;
                    INSERT INTO order_events (order_id, key, user_id, type, occurred_at, status, dispatched)
                        SELECT o.id, '2', o.user_id, 'order.paid', CASE WHEN o.status = 'PAID' THEN o.updated_at ELSE MIN(p.created_at, o.updated_at) END,
                            'PAID', 1
                        FROM orders o JOIN payments p ON p.id = o.payment_id;
                    INSERT INTO order_events (order_id, key, user_id, type, occurred_at, status, previous_status, dispatched)
                        SELECT id, '3', user_id, CASE status WHEN 'FULFILLED' THEN 'order.fulfilled' ELSE 'order.cancelled' END, updated_at, status,
                            CASE WHEN status = 'CANCELLED' THEN (CASE WHEN payment_id IS NULL THEN 'PENDING_PAYMENT' ELSE 'PAID' END) END, 1
                        FROM orders WHERE status IN ('FULFILLED', 'CANCELLED');
                    INSERT INTO order_events (order_id, key, user_id, type, occurred_at, refund_amount, refunded_total, dispatched)
                        SELECT p.order_id, '4.' || substr('0000' || p.refund_failures, -4) || '.' || substr('000000000000' || p.refunded_amount, -12),
                            p.user_id, 'order.refunded', p.updated_at, p.refunded_amount, p.refunded_amount, 1
                        FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.refunded_amount > 0;
                    """)
        }
        // Variants (issue 20): every product becomes one with a default variant (id = the product's, options {}), with
        // its price and stock and a SKU made from its name.
        migrator.registerMigration("v7-variants") { db in
            try db.execute(
                sql: """
                    ALTER TABLE products ADD COLUMN options TEXT NOT NULL DEFAULT '[]';
                    CREATE TABLE variants (
                        product_id TEXT NOT NULL,
                        id TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        sku TEXT NOT NULL,
                        sku_key TEXT NOT NULL UNIQUE,
                        options TEXT NOT NULL DEFAULT '{}',
                        price INTEGER NOT NULL,
                        quantity INTEGER NOT NULL CHECK (quantity >= 0),
                        image_url TEXT,
                        PRIMARY KEY (product_id, id)
                    ) WITHOUT ROWID;
                    """)
            let rows = try Row.fetchAll(db, sql: "SELECT id, name, price, quantity FROM products ORDER BY id")
            var taken: Set<String> = []
            for row in rows {
                let id: String = row["id"]
                var sku = SKU.make(productName: row["name"], values: [], variantId: id)
                if !taken.insert(SKU.key(sku)).inserted {
                    sku = SKU.make(productName: "", values: [], variantId: id) + "-" + String(taken.count)
                    taken.insert(SKU.key(sku))
                }
                try db.execute(
                    sql: """
                        INSERT INTO variants (product_id, id, position, sku, sku_key, options, price, quantity, image_url)
                        VALUES (?, ?, 0, ?, ?, '{}', ?, ?, NULL)
                        """,
                    arguments: [id, id, sku, SKU.key(sku), row["price"] as Int, row["quantity"] as Int])
            }
        }
        return migrator
    }

    /// SQLite's plan for `sql` (EXPLAIN QUERY PLAN's detail lines), for tests that a query uses its index.
    func queryPlan(_ sql: String, arguments: StatementArguments = []) async throws -> [String] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
        }
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

let linesDecoder = JSONDecoder()

/// JSON of the documents kept in TEXT columns (addresses, methods, shipments, settings); dates as Unix milliseconds.
let documentEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .millisecondsSince1970
    encoder.outputFormatting = [.sortedKeys]
    return encoder
}()
let documentDecoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .millisecondsSince1970
    return decoder
}()

func documentJSON(_ value: some Encodable) throws -> String {
    String(decoding: try documentEncoder.encode(value), as: UTF8.self)
}

func document<T: Decodable>(_ type: T.Type, _ text: String?) throws -> T? {
    guard let text else { return nil }
    return try documentDecoder.decode(T.self, from: Data(text.utf8))
}

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
        let total: Int = row["total"]
        self.init(
            id: row["id"], userId: row["user_id"],
            lines: try linesDecoder.decode([OrderLine].self, from: Data(linesJSON.utf8)),
            total: total, currency: row["currency"],
            status: status,
            createdAt: Date(millis: row["created_at"]), updatedAt: Date(millis: row["updated_at"]),
            expiresAt: Date(millis: row["expires_at"]),
            shippingAddress: try document(Address.self, row["shipping_address"]),
            shippingMethod: try document(OrderShippingMethod.self, row["shipping_method"]),
            subtotal: row["subtotal"] ?? total, shippingTotal: row["shipping_total"] ?? 0, shippingTax: row["shipping_tax"] ?? 0,
            taxTotal: row["tax_total"] ?? 0, shipment: try document(Shipment.self, row["shipment"]), email: row["email"])
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
