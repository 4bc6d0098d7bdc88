import Foundation
import GRDB
import ShopDomain
import ShopStorage

// MARK: - CatalogStore
//
// A product is a row of `products` and a row of `variants` per variant (v7-variants). `products.price` and
// `products.quantity` are kept, in the same transaction as every change of a variant, as the lowest price and the
// stock of all variants: the low-stock list and `quantity` read them without a sum.

extension SQLiteStore: CatalogStore {
    public func createProduct(_ product: Product) async throws(StorageError) {
        try await write { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM products WHERE id = ?"), arguments: [product.id]) == true {
                throw StorageError.alreadyExists
            }
            try Self.checkSKUs(product, in: db)
            try db.run(
                sql: """
                    INSERT INTO products (id, name, description, price, currency, quantity, category, image_url, version, created_at,
                        updated_at, options)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    product.id, product.name, product.description, product.price, product.currency,
                    product.quantity, product.category, product.imageUrl, product.version,
                    product.createdAt.millis, product.updatedAt.millis, try Self.optionsJSON(product.options),
                ])
            try Self.insertVariants(product, in: db)
        }
    }

    public func product(id: String) async throws(StorageError) -> Product? {
        try reads.products(Self.productById, [.text(id)]).first
    }

    static let productById = productSQL(ids: "?")

    /// The product as the write transaction on `db` sees it.
    static func fetchProduct(_ db: Database, id: String) throws(StorageError) -> Product? {
        try RawStatement.once(db, productById) { statement throws(StorageError) in
            try statement.products([.text(id)]).first
        }
    }

    public func products(ids: [String]) async throws(StorageError) -> [Product] {
        guard !ids.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
        return try reads.products(productSQL(ids: marks), ids.map { .text($0) })
    }

    public func replaceProduct(_ edit: ProductEdit, at now: Date) async throws(StorageError) -> Product {
        try await write { db in
            guard let current = try Self.fetchProduct(db, id: edit.id) else { throw StorageError.notFound }
            guard current.version == edit.expectedVersion else { throw StorageError.versionMismatch(current: current.version) }
            let next = edit.applied(to: current, at: now)
            let keptIds = Set(next.variants.map(\.id))
            for removed in current.variants where !keptIds.contains(removed.id) {
                if try Self.unpaidOrderHolds(productId: edit.id, variantId: removed.id, in: db) {
                    throw StorageError.variantInUse(removed.id)
                }
            }
            try Self.checkSKUs(next, in: db)
            try db.run(sql: "DELETE FROM variants WHERE product_id = ?", arguments: [edit.id])
            try Self.insertVariants(next, in: db)
            try db.run(
                sql: """
                    UPDATE products SET name = ?, description = ?, currency = ?, category = ?, options = ?, price = ?, quantity = ?,
                        version = ?, updated_at = ?
                    WHERE id = ?
                    """,
                arguments: [
                    next.name, next.description, next.currency, next.category, try Self.optionsJSON(next.options), next.price,
                    next.quantity, next.version, now.millis, edit.id,
                ])
            return next
        }
    }

    public func setProductImage(id: String, variantId: String?, imageUrl: String, at now: Date) async throws(StorageError) -> Product {
        try await write { db in
            if let variantId {
                try db.run(sql: "UPDATE variants SET image_url = ? WHERE product_id = ? AND id = ?", arguments: [imageUrl, id, variantId])
                if db.changesCount == 0 {
                    guard try Self.fetchProduct(db, id: id) != nil else { throw StorageError.notFound }
                    throw StorageError.variantNotFound(productId: id, variantId: variantId)
                }
                try db.run(sql: "UPDATE products SET version = version + 1, updated_at = ? WHERE id = ?", arguments: [now.millis, id])
            } else {
                try db.run(
                    sql: "UPDATE products SET image_url = ?, version = version + 1, updated_at = ? WHERE id = ?",
                    arguments: [imageUrl, now.millis, id])
            }
            guard db.changesCount == 1, let product = try Self.fetchProduct(db, id: id) else { throw StorageError.notFound }
            return product
        }
    }

    public func deleteProduct(id: String) async throws(StorageError) {
        try await write { db in
            try db.run(sql: "DELETE FROM products WHERE id = ?", arguments: [id])
            if db.changesCount == 0 { throw StorageError.notFound }
            try db.run(sql: "DELETE FROM variants WHERE product_id = ?", arguments: [id])
        }
    }

    public func adjustStock(id: String, variantId: String?, delta: Int, at now: Date) async throws(StorageError) -> Product {
        try await write { db in
            guard let current = try Self.fetchProduct(db, id: id) else { throw StorageError.notFound }
            let variant: ProductVariant
            if let variantId {
                guard let named = current.variant(id: variantId) else {
                    throw StorageError.variantNotFound(productId: id, variantId: variantId)
                }
                variant = named
            } else {
                guard current.hasOneVariant else { throw StorageError.variantRequired }
                variant = current.variants[0]
            }
            let after = variant.quantity + delta
            if after < 0 { throw StorageError.insufficientStock(available: variant.quantity) }
            if after > Limits.stockRange.upperBound { throw StorageError.stockLimitExceeded(current: variant.quantity) }
            try db.run(sql: "UPDATE variants SET quantity = ? WHERE product_id = ? AND id = ?", arguments: [after, id, variant.id])
            try db.run(sql: "UPDATE products SET quantity = quantity + ?, updated_at = ? WHERE id = ?", arguments: [delta, now.millis, id])
            var product = current
            product.updatedAt = Date(millis: now.millis)
            if let index = product.variants.firstIndex(where: { $0.id == variant.id }) { product.variants[index].quantity = after }
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
        let rows = try reads.products(productSQL(ids: "SELECT id FROM products \(whereClause) ORDER BY id LIMIT ?"), arguments)
        let items = Array(rows.prefix(limit))
        return Page(items: items, nextKey: rows.count > limit ? items.last?.id : nil)
    }

    public func productCount() async throws(StorageError) -> Int {
        try await read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM products")) ?? 0 }
    }

    // MARK: Variants

    /// `.skuTaken` if any of the product's SKUs is another product's.
    static func checkSKUs(_ product: Product, in db: Database) throws {
        for variant in product.variants {
            if try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM variants WHERE sku_key = ? AND product_id != ?"),
                arguments: [SKU.key(variant.sku), product.id]) == true
            {
                throw StorageError.skuTaken(variant.sku)
            }
        }
    }

    static func insertVariants(_ product: Product, in db: Database) throws {
        for (position, variant) in product.variants.enumerated() {
            try db.run(
                sql: """
                    INSERT INTO variants (product_id, id, position, sku, sku_key, options, price, quantity, image_url)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    product.id, variant.id, position, variant.sku, SKU.key(variant.sku), try variantOptionsJSON(variant.options),
                    variant.price, variant.quantity, variant.imageUrl,
                ])
        }
    }

    /// Whether an order waiting for payment holds units of the variant (lines before variants name the default, the product's id).
    static func unpaidOrderHolds(productId: String, variantId: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT 1 FROM orders, json_each(orders.lines) AS line
                    WHERE orders.status = ? AND json_extract(line.value, '$.productId') = ?
                        AND coalesce(json_extract(line.value, '$.variantId'), json_extract(line.value, '$.productId')) = ?
                    LIMIT 1
                    """),
            arguments: [OrderStatus.pendingPayment.rawValue, productId, variantId]) == true
    }

    static func optionsJSON(_ options: [ProductOption]) throws -> String {
        options.isEmpty ? "[]" : try documentJSON(options)
    }

    static func variantOptionsJSON(_ options: [String: String]) throws -> String {
        options.isEmpty ? "{}" : try documentJSON(options)
    }
}
