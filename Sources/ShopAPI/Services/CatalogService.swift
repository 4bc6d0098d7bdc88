#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ShopDomain
import ShopStorage
import ShopSupport

/// Catalog rules: validation, ids, time; the store does each change atomically.
public struct CatalogService: Sendable {
    let store: any CatalogStore
    let clock: WallClock

    public init(store: any CatalogStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    public func list(category: String?, limit: Int, after: String?) async throws(APIError) -> Page<Product> {
        try await mapped { () throws(StorageError) in try await store.listProducts(category: category, limit: limit, after: after) }
    }

    public func get(id: String) async throws(APIError) -> Product {
        guard let product = try await mapped({ () throws(StorageError) in try await store.product(id: id) }) else {
            throw .notFound("Product \(id)")
        }
        return product
    }

    public func create(_ fields: ProductFields, quantity: Int) async throws(APIError) -> Product {
        let fields = try validated(fields)
        do { try validateQuantity(quantity) } catch { throw APIError(error) }
        let now = clock.now()
        let product = Product(id: Identifier.make(at: now), fields: fields, quantity: quantity, at: now)
        try await mapped { () throws(StorageError) in try await store.createProduct(product) }
        return product
    }

    public func update(id: String, fields: ProductFields, expectedVersion: Int?) async throws(APIError) -> Product {
        let fields = try validated(fields)
        do {
            return try await store.updateProduct(id: id, fields: fields, expectedVersion: expectedVersion, at: clock.now())
        } catch .notFound {
            throw .notFound("Product \(id)")
        } catch .versionMismatch(let current) {
            throw APIError(
                .preconditionFailed, "precondition_failed",
                "The product has changed since you read it (it is now version \(current)); read it again and retry.",
                details: .object(["version": .int(current)]))
        } catch {
            throw APIError(unexpected: error)
        }
    }

    public func delete(id: String) async throws(APIError) {
        do {
            try await store.deleteProduct(id: id)
        } catch .notFound {
            throw .notFound("Product \(id)")
        } catch {
            throw APIError(unexpected: error)
        }
    }

    public func adjustStock(id: String, delta: Int) async throws(APIError) -> Product {
        // `magnitude`, not `abs`: abs(Int.min) traps and would take the whole process down.
        guard delta != 0, delta.magnitude <= UInt(Limits.stockRange.upperBound) else {
            throw .invalid([FieldProblem(field: "delta", problem: "must be a non-zero integer from -\(Limits.stockRange.upperBound) to \(Limits.stockRange.upperBound)")])
        }
        do {
            return try await store.adjustStock(id: id, delta: delta, at: clock.now())
        } catch .notFound {
            throw .notFound("Product \(id)")
        } catch .insufficientStock(let available) {
            throw APIError(
                .conflict, "insufficient_stock", "Removing \(-delta) would take the stock below zero; \(available) in stock.",
                details: .object(["available": .int(available)]))
        } catch .stockLimitExceeded(let current) {
            throw APIError(
                .conflict, "stock_limit_exceeded", "Stock cannot exceed \(Limits.stockRange.upperBound); \(current) in stock.",
                details: .object(["available": .int(current)]))
        } catch {
            throw APIError(unexpected: error)
        }
    }

    /// Seeds `products` if the catalog is empty; returns how many were added.
    public func seedIfEmpty(_ products: [(fields: ProductFields, quantity: Int)]) async throws(APIError) -> Int {
        guard try await mapped({ () throws(StorageError) in try await store.productCount() }) == 0 else { return 0 }
        for (fields, quantity) in products {
            _ = try await create(fields, quantity: quantity)
        }
        return products.count
    }

    private func validated(_ fields: ProductFields) throws(APIError) -> ProductFields {
        do { return try fields.validated() } catch { throw APIError(error) }
    }
}

/// Runs a store call whose errors no caller expects, so any is a 500 (logged, never shown).
func mapped<T>(_ body: () async throws(StorageError) -> T) async throws(APIError) -> T {
    do {
        return try await body()
    } catch {
        throw APIError(unexpected: error)
    }
}
