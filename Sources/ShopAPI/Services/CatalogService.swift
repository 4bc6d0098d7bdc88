import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Catalog rules: validation, ids, time; the store does each change atomically.
public struct CatalogService: Sendable {
    let store: any CatalogStore
    let clock: WallClock

    public init(store: any CatalogStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    public func list(category: String?, limit: Int, after: String?) async throws(APIError) -> Page<Product> {
        try await mapped(try await store.listProducts(category: category, limit: limit, after: after))
    }

    public func get(id: String) async throws(APIError) -> Product {
        guard let product = try await mapped(try await store.product(id: id)) else {
            throw .notFound("Product \(id)")
        }
        return product
    }

    public func create(_ fields: ProductFields, quantity: Int) async throws(APIError) -> Product {
        try await create(ProductDraft(fields: fields, quantity: quantity))
    }

    /// Creates a product: without `variants`, the fields' price and `quantity` make its default variant.
    public func create(_ draft: ProductDraft) async throws(APIError) -> Product {
        let now = clock.now()
        let id = Identifier.make(at: now)
        let product: Product
        if let specs = draft.variants {
            var fields = draft.fields
            fields.price = Limits.priceRange.lowerBound  // the variants' prices are the ones checked
            let valid = try validated(fields)
            if let index = specs.firstIndex(where: { $0.id != nil }) {
                throw .invalid([FieldProblem(field: "variants[\(index)].id", problem: "must not be given for a new product")])
            }
            let (options, clean) = try Self.validatedVariants(draft.options ?? [], specs)
            product = Product(
                id: id, name: valid.name, description: valid.description, currency: valid.currency, category: valid.category,
                createdAt: now, updatedAt: now, options: options,
                variants: clean.map { spec in
                    let variantId = options.isEmpty ? id : Identifier.make(at: now)
                    return Self.variant(spec, id: variantId, productName: valid.name, options: options, quantity: spec.quantity ?? 0)
                })
        } else {
            if draft.options.map({ !$0.isEmpty }) == true {
                throw .invalid([FieldProblem(field: "variants", problem: "is required with options: one variant per combination you sell")])
            }
            guard draft.hasPrice else {
                throw .invalid([FieldProblem(field: "price", problem: "is required (or variants, each with its price)")])
            }
            let fields = try validated(draft.fields)
            do { try validateQuantity(draft.quantity) } catch { throw APIError(error) }
            product = Product(id: id, fields: fields, quantity: draft.quantity, at: now)
        }
        do {
            try await store.createProduct(product)
        } catch .skuTaken(let sku) {
            throw Self.skuTaken(sku)
        } catch {
            throw APIError(unexpected: error)
        }
        return product
    }

    /// Replaces a product's editable fields (`PUT`), and its options and variants when `draft.variants` is given. Stock is
    /// never changed here: a kept variant keeps its own. Without `expectedVersion` (no `If-Match`), a concurrent edit is
    /// read again and the edit applied over it.
    public func update(id: String, draft: ProductDraft, expectedVersion: Int?) async throws(APIError) -> Product {
        for _ in 0..<3 {
            let current = try await get(id: id)
            if let expectedVersion, expectedVersion != current.version { throw Self.versionMismatch(current.version) }
            let edit = try edit(of: current, with: draft)
            do {
                return try await store.replaceProduct(edit, at: clock.now())
            } catch .notFound {
                throw .notFound("Product \(id)")
            } catch .versionMismatch(let now) {
                if expectedVersion != nil { throw Self.versionMismatch(now) }
            } catch .skuTaken(let sku) {
                throw Self.skuTaken(sku)
            } catch .variantInUse(let variantId) {
                throw APIError(
                    .conflict, "variant_in_use",
                    "Variant \(variantId) is held by an order waiting for payment; remove it once that order is paid, cancelled or expired.",
                    details: .object(["variantId": .string(variantId)]))
            } catch {
                throw APIError(unexpected: error)
            }
        }
        throw .busy
    }

    public func update(id: String, fields: ProductFields, expectedVersion: Int?) async throws(APIError) -> Product {
        try await update(id: id, draft: ProductDraft(fields: fields), expectedVersion: expectedVersion)
    }

    /// The edit `draft` makes of `current`.
    func edit(of current: Product, with draft: ProductDraft) throws(APIError) -> ProductEdit {
        var fields = draft.fields
        if draft.variants != nil || !draft.hasPrice { fields.price = Limits.priceRange.lowerBound }
        let valid = try validated(fields)
        var options = current.options
        var variants = current.variants
        if let specs = draft.variants {
            let clean: [VariantSpec]
            (options, clean) = try Self.validatedVariants(draft.options ?? [], specs)
            let existing = Dictionary(current.variants.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            var problems: [FieldProblem] = []
            variants = []
            for (index, spec) in clean.enumerated() {
                // A product without options has one variant, its default, whose id is the product's: given without an id it is that one.
                let variantId = spec.id ?? (options.isEmpty ? current.id : Identifier.make(at: clock.now()))
                if spec.id != nil && existing[variantId] == nil {
                    problems.append(
                        FieldProblem(
                            field: "variants[\(index)].id", problem: "is not a variant of this product; leave it out for a new one"))
                    continue
                }
                var variant = Self.variant(spec, id: variantId, productName: valid.name, options: options, quantity: spec.quantity ?? 0)
                if let old = existing[variantId], spec.sku == nil { variant.sku = old.sku }
                variants.append(variant)
            }
            // A kept variant sent without a SKU keeps its own, which the rules could not see: one SKU, one variant.
            var skus: [String: Int] = [:]
            for (index, variant) in variants.enumerated() {
                if let first = skus.updateValue(index, forKey: SKU.key(variant.sku)) {
                    problems.append(
                        FieldProblem(
                            field: "variants[\(index)].sku", problem: "repeats variants[\(first)]'s SKU (SKUs are compared without case)"))
                }
            }
            guard problems.isEmpty else { throw .invalid(problems) }
        } else {
            if draft.options != nil {
                throw .invalid([FieldProblem(field: "variants", problem: "is required with options: one variant per combination you sell")])
            }
            if draft.hasPrice {
                guard current.hasOneVariant else { throw Self.variantRequired(current) }
                variants[0].price = valid.price
            }
        }
        return ProductEdit(
            id: current.id, name: valid.name, description: valid.description, currency: valid.currency, category: valid.category,
            options: options, variants: variants, expectedVersion: current.version)
    }

    static func validatedVariants(_ options: [ProductOption], _ specs: [VariantSpec]) throws(APIError) -> ([ProductOption], [VariantSpec]) {
        do { return try VariantRules.validated(options: options, variants: specs) } catch { throw APIError(error) }
    }

    static func variant(_ spec: VariantSpec, id: String, productName: String, options: [ProductOption], quantity: Int) -> ProductVariant {
        let values = options.compactMap { spec.options[$0.name] }
        return ProductVariant(
            id: id, sku: spec.sku ?? SKU.make(productName: productName, values: values, variantId: id), options: spec.options,
            price: spec.price, quantity: quantity)
    }

    static func versionMismatch(_ current: Int) -> APIError {
        APIError(
            .preconditionFailed, "precondition_failed",
            "The product has changed since you read it (it is now version \(current)); read it again and retry.",
            details: .object(["version": .int(current)]))
    }

    static func skuTaken(_ sku: String) -> APIError {
        APIError(
            .conflict, "sku_taken", "SKU \(sku) is another variant's; SKUs are unique in the catalog, without regard to case.",
            details: .object(["sku": .string(sku)]))
    }

    static func variantRequired(_ product: Product) -> APIError {
        APIError(
            .conflict, "variant_required",
            "Product \(product.id) has \(product.variants.count) variants; price and stock it through each variant.",
            details: .object(["productId": .string(product.id)]))
    }

    static func variantNotFound(productId: String, variantId: String) -> APIError {
        APIError(
            .notFound, "variant_not_found", "Product \(productId) has no variant \(variantId).",
            details: .object(["productId": .string(productId), "variantId": .string(variantId)]))
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

    public func adjustStock(id: String, variantId: String? = nil, delta: Int) async throws(APIError) -> Product {
        // `magnitude`, not `abs`: abs(Int.min) traps and would take the whole process down.
        guard delta != 0, delta.magnitude <= UInt(Limits.stockRange.upperBound) else {
            throw .invalid([
                FieldProblem(
                    field: "delta",
                    problem: "must be a non-zero integer from -\(Limits.stockRange.upperBound) to \(Limits.stockRange.upperBound)")
            ])
        }
        do {
            return try await store.adjustStock(id: id, variantId: variantId, delta: delta, at: clock.now())
        } catch .notFound {
            throw .notFound("Product \(id)")
        } catch .variantNotFound(let productId, let variantId) {
            throw Self.variantNotFound(productId: productId, variantId: variantId)
        } catch .variantRequired {
            throw Self.variantRequired(try await get(id: id))
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

    /// Seeds `products` if the catalog is empty; returns the products it added (none if it was not empty).
    public func seedIfEmpty(_ products: [ProductDraft]) async throws(APIError) -> [Product] {
        guard try await mapped(try await store.productCount()) == 0 else { return [] }
        var added: [Product] = []
        for draft in products {
            added.append(try await create(draft))
        }
        return added
    }

    private func validated(_ fields: ProductFields) throws(APIError) -> ProductFields {
        do { return try fields.validated() } catch { throw APIError(error) }
    }
}

/// What an admin sends to create or edit a product. `hasPrice`: whether `fields.price` was given (it is optional on an
/// edit, and with variants it is theirs).
public struct ProductDraft: Sendable {
    public var fields: ProductFields
    public var hasPrice: Bool
    public var quantity: Int
    public var options: [ProductOption]?
    public var variants: [VariantSpec]?

    public init(
        fields: ProductFields, hasPrice: Bool = true, quantity: Int = 0, options: [ProductOption]? = nil, variants: [VariantSpec]? = nil
    ) {
        self.fields = fields
        self.hasPrice = hasPrice
        self.quantity = quantity
        self.options = options
        self.variants = variants
    }
}

/// Runs a store call whose errors no caller expects, so any is a 500 (logged, never shown).
func mapped<T>(_ body: @autoclosure () async throws(StorageError) -> T) async throws(APIError) -> T {
    do {
        return try await body()
    } catch {
        throw APIError(unexpected: error)
    }
}
