import Foundation
import GRDB
import GRDBSQLite
import ShopDomain
import ShopStorage
import Synchronization

/// The catalog's reads (a product, several products, a page) on connections of their own, run on the
/// caller's thread through SQLite's C API.
///
/// Through GRDB's `DatabasePool` a point read cost about a quarter of `shop serve`'s CPU under load
/// (`perf`, docs/BENCHMARKS.md): the reader pool's lock, a `DispatchQueue.sync` per read (and its key-path and
/// type-metadata lookups), the schema-version check, `Row` boxing. SQLite's own work was under 1%. These
/// connections skip all of it: a connection is taken from an idle list under a mutex, its prepared statement
/// is reused, and columns are read straight into a `Product`.
///
/// Correctness is SQLite's: each statement is its own read transaction on a WAL database, so a read sees
/// every transaction committed before it started and never a part of one, whichever process wrote it.
/// Nothing is cached across statements.
final class ProductReads: Sendable {
    private let path: String
    private let idle = Mutex<[ReadConnection]>([])
    /// Idle connections kept; more are opened under bursts and closed when handed back beyond this.
    private let keep = 8

    init(path: String) {
        self.path = path
    }

    /// Runs `sql` (made by `productSQL`) with `arguments` and gathers each product's variant rows into it.
    func products(_ sql: String, _ arguments: [SQLiteArgument]) throws(StorageError) -> [Product] {
        let connection: ReadConnection
        if let reused = idle.withLock({ $0.popLast() }) {
            connection = reused
        } else {
            connection = try ReadConnection(path: path)
        }
        defer {
            let closing: ReadConnection? = idle.withLock { list in
                guard list.count < keep else { return connection }
                list.append(connection)
                return nil
            }
            _ = closing  // closed by its deinit, outside the lock
        }
        return try connection.withStatement(sql) { statement throws(StorageError) in
            try statement.products(arguments)
        }
    }
}

/// A value bound to a `?` of a statement.
enum SQLiteArgument: Sendable {
    case text(String)
    case int(Int)
}

/// A read-only connection used by one caller at a time (`ProductReads` hands it out under its mutex), with its
/// prepared statements. Closed, statements finalized, when released.
private final class ReadConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private var statements: [String: RawStatement] = [:]

    init(path: String) throws(StorageError) {
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(code)"
            sqlite3_close_v2(handle)
            throw .backend("cannot open \(path) for reading: \(message)")
        }
        // A reader waits for a writer only while the WAL is being reset or recovered; wait as the writer does.
        sqlite3_busy_timeout(handle, 10_000)
        self.handle = handle
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement.pointer) }
        sqlite3_close_v2(handle)
    }

    func withStatement<T>(_ sql: String, _ body: (RawStatement) throws(StorageError) -> T) throws(StorageError) -> T {
        if let statement = statements[sql] { return try body(statement) }
        var pointer: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil) == SQLITE_OK, let pointer else {
            throw .backend("cannot prepare \(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        let statement = RawStatement(pointer: pointer)
        statements[sql] = statement
        return try body(statement)
    }
}

/// A prepared statement, stepped by hand. Also used on GRDB's write connection (`Database.sqliteConnection`),
/// so that a product is read from columns in one place.
struct RawStatement {
    let pointer: OpaquePointer

    /// Binds `arguments`, steps to the end mapping each row, and resets the statement (ending its read).
    func rows<T>(_ arguments: [SQLiteArgument], _ map: (SQLiteColumns) -> T) throws(StorageError) -> [T] {
        var result: [T] = []
        try each(arguments) { result.append(map($0)) }
        return result
    }

    /// Binds `arguments`, hands each row to `body`, and resets the statement (ending its read).
    func each(_ arguments: [SQLiteArgument], _ body: (SQLiteColumns) -> Void) throws(StorageError) {
        defer {
            sqlite3_reset(pointer)
            sqlite3_clear_bindings(pointer)
        }
        for (index, argument) in arguments.enumerated() {
            let position = Int32(index + 1)
            switch argument {
            case .int(let value): sqlite3_bind_int64(pointer, position, Int64(value))
            case .text(let value): sqlite3_bind_text(pointer, position, value, -1, SQLITE_TRANSIENT)
            }
        }
        while true {
            switch sqlite3_step(pointer) {
            case SQLITE_ROW: body(SQLiteColumns(statement: pointer))
            case SQLITE_DONE: return
            default:
                let message = String(cString: sqlite3_errmsg(sqlite3_db_handle(pointer)))
                throw .backend("SQLite: \(message)")
            }
        }
    }

    /// Prepares `sql` on `db`'s own connection for one use (inside a GRDB write transaction), then finalizes it.
    static func once<T>(_ db: Database, _ sql: String, _ body: (RawStatement) throws(StorageError) -> T) throws(StorageError) -> T {
        guard let handle = db.sqliteConnection else { throw .backend("the database connection is closed") }
        var pointer: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &pointer, nil) == SQLITE_OK, let pointer else {
            throw .backend("cannot prepare \(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        defer { sqlite3_finalize(pointer) }
        return try body(RawStatement(pointer: pointer))
    }
}

/// SQLite's destructor value that makes it copy bound text before `sqlite3_bind_text` returns.
private let SQLITE_TRANSIENT = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// The current row of a statement, read by column index.
struct SQLiteColumns {
    let statement: OpaquePointer

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(statement, column)) }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : text(column)
    }
}

/// A product's columns, then one of its variant's: one row per variant (`productSQL`).
let productColumns = """
    p.id, p.name, p.description, p.currency, p.category, p.image_url, p.version, p.created_at, p.updated_at, p.options, \
    v.id, v.sku, v.options, v.price, v.quantity, v.image_url
    """

/// Whole products, every variant in its place, for the product ids that `ids` (a SELECT of ids, or `?`) gives, in `order`.
func productSQL(ids: String, order: String = "p.id") -> String {
    "SELECT \(productColumns) FROM products p JOIN variants v ON v.product_id = p.id WHERE p.id IN (\(ids)) ORDER BY \(order), v.position"
}

extension RawStatement {
    /// Steps through rows of `productColumns` (a product's rows next to each other), reading a product's own columns
    /// once and a variant from every row.
    func products(_ arguments: [SQLiteArgument]) throws(StorageError) -> [Product] {
        var products: [Product] = []
        var failure: StorageError?
        try each(arguments) { row in
            let id = row.text(0)
            let variant = ProductVariant(
                id: row.text(10), sku: row.text(11), options: row.variantOptions(12), price: row.int(13), quantity: row.int(14),
                imageUrl: row.optionalText(15))
            if let last = products.indices.last, products[last].id == id {
                products[last].variants.append(variant)
                return
            }
            let options: [ProductOption]
            do throws(StorageError) { options = try row.productOptions(9) } catch {
                failure = error
                options = []
            }
            products.append(
                Product(
                    id: id, name: row.text(1), description: row.text(2), currency: row.text(3), category: row.text(4),
                    imageUrl: row.optionalText(5), version: row.int(6), createdAt: Date(millis: Int64(row.int(7))),
                    updatedAt: Date(millis: Int64(row.int(8))), options: options, variants: [variant]))
        }
        if let failure { throw failure }
        return products
    }
}

extension SQLiteColumns {
    /// The bytes of a text column, valid until the statement steps or resets.
    func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let bytes = sqlite3_column_text(statement, column) else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, column)))
    }

    /// A product's options column: read in place (OptionColumns), or by `JSONDecoder` when it is not of the plain form.
    func productOptions(_ column: Int32) throws(StorageError) -> [ProductOption] {
        if let options = OptionColumns.productOptions(bytes(column)) { return options }
        do {
            return try documentDecoder.decode([ProductOption].self, from: Data(text(column).utf8))
        } catch {
            throw .backend("malformed product options: \(error)")
        }
    }

    /// A variant's options column: read in place, or by `JSONDecoder`. A malformed value reads as `{}`.
    func variantOptions(_ column: Int32) -> [String: String] {
        if let options = OptionColumns.variantOptions(bytes(column)) { return options }
        return (try? documentDecoder.decode([String: String].self, from: Data(text(column).utf8))) ?? [:]
    }
}
