import Foundation
import GRDB
import ShopDomain
import ShopStorage

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
        try reads.products(Self.productById, [.text(id)]).first
    }

    static let productById = "SELECT \(productColumns) FROM products WHERE id = ?"

    /// The product as the write transaction on `db` sees it.
    static func fetchProduct(_ db: Database, id: String) throws(StorageError) -> Product? {
        try RawStatement.once(db, productById) { statement throws(StorageError) in
            try statement.rows([.text(id)], Product.init(columns:)).first
        }
    }

    public func products(ids: [String]) async throws(StorageError) -> [Product] {
        guard !ids.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
        return try reads.products("SELECT \(productColumns) FROM products WHERE id IN (\(marks))", ids.map { .text($0) })
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
        var conditions: [String] = []
        var arguments: [SQLiteArgument] = []
        if let category {
            conditions.append("category = ?")
            arguments.append(.text(category))
        }
        if let after {
            conditions.append("id > ?")
            arguments.append(.text(after))
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(.int(limit + 1))
        let rows = try reads.products("SELECT \(productColumns) FROM products \(whereClause) ORDER BY id LIMIT ?", arguments)
        let items = Array(rows.prefix(limit))
        return Page(items: items, nextKey: rows.count > limit ? items.last?.id : nil)
    }

    public func productCount() async throws(StorageError) -> Int {
        try await read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM products")) ?? 0 }
    }
}
