import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The catalog on DynamoDB (docs/DYNAMODB.md, "Variants").
//
// A product is one item: its fields, `Options` and `Variants` (lists of maps: what an edit changes), and each
// variant's stock in an attribute of its own, `Stock#<variant id>`; `Quantity` is their sum and `Price` the lowest
// price, written in the same update as every change of them. A sale of one variant is one update of the product's
// item (`Stock#v = Stock#v - n, Quantity = Quantity - n`), so a product is still the unit of contention, as before.
//
// Products written before variants (no `Variants`) read as one default variant (id = the product's); the
// `2026-12-products-variants` backfill, or an admin's write (stock, image, edit), gives them their variant for real;
// orders and their returns take them as they are (DynamoDBStore+Orders.swift, `stockTakes`).
//
// SKUs are unique through claim items in the same table, `ProductID = "SKU#<sku in lower case>"` with `Owner`, which
// no index keys on and `product(id:)` never answers. A claim is written before the product and released after;
// one whose owner does not use its SKU (an edit that failed between the two) is taken over after a minute.

extension DynamoDBStore {
    static let skuPrefix = "SKU#"
    /// How long a claim whose owner does not (yet) use its SKU is left alone: the owner's write may be in flight.
    static let skuClaimGrace: Int64 = 60_000

    static func stockAttribute(_ variantId: String) -> String { "Stock#" + variantId }

    static func item(_ p: Product) -> Item {
        var item: Item = [
            "ProductID": .s(p.id), "Name": .s(p.name), "Description": .s(p.description), "Price": .int(p.price),
            "Currency": .s(p.currency), "Quantity": .int(p.quantity), "Category": .s(p.category), "Version": .int(p.version),
            "CreatedAt": .int64(p.createdAt.ms), "UpdatedAt": .int64(p.updatedAt.ms), "Catalog": .s("P"),
            "StockShard": .s(stockShard(p.id)),
            "Options": .l(p.options.map { .m(["Name": .s($0.name), "Values": .l($0.values.map { .s($0) })]) }),
            "Variants": .l(
                p.variants.map { v in
                    var m: Item = ["Id": .s(v.id), "Sku": .s(v.sku), "Options": .m(v.options.mapValues { .s($0) }), "Price": .int(v.price)]
                    if let url = v.imageUrl { m["ImageUrl"] = .s(url) }
                    return .m(m)
                }),
        ]
        for variant in p.variants { item[stockAttribute(variant.id)] = .int(variant.quantity) }
        if let url = p.imageUrl { item["ImageUrl"] = .s(url) }
        return item
    }

    /// Whether the item was written before variants existed.
    static func isLegacy(_ item: Item) -> Bool { item["Variants"] == nil }

    static func product(_ item: Item) throws(StorageError) -> Product {
        try decode {
            let r = ItemReader(item: item)
            let id = try r.string("ProductID")
            let name = try r.string("Name")
            guard case .l(let rawVariants)? = item["Variants"] else {
                return Product(
                    id: id, name: name, description: try r.string("Description"),
                    price: try r.int("Price"), currency: try r.string("Currency"), quantity: try r.int("Quantity"),
                    category: try r.string("Category"), imageUrl: r.optionalString("ImageUrl"), version: try r.int("Version"),
                    createdAt: Date(unixMillis: try r.int64("CreatedAt")), updatedAt: Date(unixMillis: try r.int64("UpdatedAt")))
            }
            var options: [ProductOption] = []
            if case .l(let rawOptions)? = item["Options"] {
                for raw in rawOptions {
                    guard case .m(let m) = raw, case .l(let values)? = m["Values"] else { throw MalformedItem(attribute: "Options") }
                    options.append(ProductOption(name: try ItemReader(item: m).string("Name"), values: values.compactMap(\.string)))
                }
            }
            let variants = try rawVariants.map { raw -> ProductVariant in
                guard case .m(let m) = raw else { throw MalformedItem(attribute: "Variants") }
                let v = ItemReader(item: m)
                let variantId = try v.string("Id")
                var chosen: [String: String] = [:]
                if case .m(let o)? = m["Options"] { chosen = o.compactMapValues(\.string) }
                return ProductVariant(
                    id: variantId, sku: try v.string("Sku"), options: chosen, price: try v.int("Price"),
                    quantity: try r.int(stockAttribute(variantId)), imageUrl: v.optionalString("ImageUrl"))
            }
            return Product(
                id: id, name: name, description: try r.string("Description"), currency: try r.string("Currency"),
                category: try r.string("Category"), imageUrl: r.optionalString("ImageUrl"), version: try r.int("Version"),
                createdAt: Date(unixMillis: try r.int64("CreatedAt")), updatedAt: Date(unixMillis: try r.int64("UpdatedAt")),
                options: options, variants: variants)
        }
    }

    /// The product's item (consistent), never a SKU claim.
    func productItem(id: String) async throws(StorageError) -> Item? {
        if id.hasPrefix(Self.skuPrefix) { return nil }
        return try await get(tables.products, ["ProductID": .s(id)])
    }

    /// The items of the products among `ids` that exist.
    func productItems(ids: [String]) async throws(StorageError) -> [Item] {
        var pending = Array(Set(ids.filter { !$0.hasPrefix(Self.skuPrefix) })).map { ["ProductID": AttributeValue.s($0)] }
        var found: [Item] = []
        var rounds = 0
        while !pending.isEmpty && rounds < 10 {
            let batch = Array(pending.prefix(100))
            pending.removeFirst(batch.count)
            let output = try await call(
                "BatchGetItem", DDBRequest(RequestItems: [tables.products: .init(Keys: batch, ConsistentRead: true)]),
                as: BatchGetOutput.self)
            found += output.Responses?[tables.products] ?? []
            pending += output.UnprocessedKeys?[tables.products]?.Keys ?? []
            rounds += 1
        }
        guard pending.isEmpty else { throw .backend("BatchGetItem: keys still unprocessed after retries") }
        return found
    }

    /// Gives a product written before variants its default variant for real: its SKU claimed, `Variants`, and its
    /// stock moved to `Stock#<id>`, in one update conditioned on it still having none (a racing upgrade wins alone).
    func upgradeLegacy(_ item: Item, at now: Date) async throws(StorageError) {
        let product = try Self.product(item)
        var variant = product.variants[0]
        do {
            try await claimSKUs([variant.sku], for: product.id, at: now)
        } catch .skuTaken {
            // Its made SKU was taken meanwhile (it was never claimed): one with a random ending instead.
            variant.sku = SKU.make(productName: product.name, values: [], variantId: UUID().uuidString)
            try await claimSKUs([variant.sku], for: product.id, at: now)
        }
        var upgraded = product
        upgraded.variants = [variant]
        let fresh = Self.item(upgraded)
        _ = try await write(
            .init(
                Update: DDBRequest(
                    TableName: tables.products, Key: ["ProductID": .s(product.id)],
                    ConditionExpression: "attribute_exists(ProductID) AND attribute_not_exists(#v)",
                    UpdateExpression: "SET #v = :v, #o = :o, #st = Quantity",
                    ExpressionAttributeNames: ["#v": "Variants", "#o": "Options", "#st": Self.stockAttribute(variant.id)],
                    ExpressionAttributeValues: [":v": fresh["Variants"]!, ":o": fresh["Options"]!])))
    }

    // MARK: SKU claims

    /// Claims each SKU for `productId`; `.skuTaken` naming the first another product uses.
    func claimSKUs(_ skus: [String], for productId: String, at now: Date) async throws(StorageError) {
        for sku in skus {
            let key: Item = ["ProductID": .s(Self.skuPrefix + SKU.key(sku))]
            var claim = key
            claim["Owner"] = .s(productId)
            claim["Sku"] = .s(sku)
            claim["ClaimedAt"] = .int64(now.ms)
            if try await write(
                .init(
                    Put: DDBRequest(
                        TableName: tables.products, Item: claim, ConditionExpression: "attribute_not_exists(ProductID) OR #owner = :me",
                        ExpressionAttributeNames: ["#owner": "Owner"], ExpressionAttributeValues: [":me": .s(productId)])))
            {
                continue
            }
            // Someone holds it: theirs if their product uses it, or if their claim is fresh (their write may be in flight).
            guard let held = try await get(tables.products, key), let owner = held["Owner"]?.string else { throw .skuTaken(sku) }
            if let ownerItem = try await productItem(id: owner),
                try Self.product(ownerItem).variants.contains(where: { SKU.key($0.sku) == SKU.key(sku) })
            {
                throw .skuTaken(sku)
            }
            guard let claimedAt = held["ClaimedAt"]?.int64Value, now.ms - claimedAt >= Self.skuClaimGrace else { throw .skuTaken(sku) }
            // Taken over only as it was read: an owner that refreshed its claim meanwhile keeps it.
            guard
                try await write(
                    .init(
                        Put: DDBRequest(
                            TableName: tables.products, Item: claim, ConditionExpression: "#owner = :them AND ClaimedAt = :then",
                            ExpressionAttributeNames: ["#owner": "Owner"],
                            ExpressionAttributeValues: [":them": .s(owner), ":then": .int64(claimedAt)])))
            else { throw .skuTaken(sku) }
        }
    }

    /// Releases claims `productId` holds on SKUs it no longer uses (best effort: a claim left behind is taken over later).
    func releaseSKUs(_ skus: [String], of productId: String) async {
        for sku in skus {
            _ = try? await write(
                .init(
                    Delete: DDBRequest(
                        TableName: tables.products, Key: ["ProductID": .s(Self.skuPrefix + SKU.key(sku))],
                        ConditionExpression: "#owner = :me", ExpressionAttributeNames: ["#owner": "Owner"],
                        ExpressionAttributeValues: [":me": .s(productId)])))
        }
    }

    /// One of `variantIds` that an order waiting for payment holds units of, or nil (one pass over the `ByStatus` shards).
    /// The index is read eventually consistently: an order placed within its propagation delay may not be seen yet
    /// (docs/DYNAMODB.md, "Variants").
    func unpaidOrderHolds(productId: String, variantIds: Set<String>) async throws(StorageError) -> String? {
        for shard in 0..<DynamoDBSchema.orderShards {
            var start: Item?
            repeat {
                let output = try await call(
                    "Query",
                    DDBRequest(
                        TableName: tables.orders, KeyConditionExpression: "StatusShard = :h",
                        ExpressionAttributeValues: [":h": .s("\(OrderStatus.pendingPayment.rawValue)#\(shard)")],
                        IndexName: DynamoDBSchema.ordersByStatus, ExclusiveStartKey: start),
                    as: QueryOutput.self)
                for item in output.Items ?? [] {
                    let order = try Self.order(item)
                    if let line = order.lines.first(where: { $0.productId == productId && variantIds.contains($0.variantId) }) {
                        return line.variantId
                    }
                }
                start = output.LastEvaluatedKey
            } while start != nil
        }
        return nil
    }
}

// MARK: - CatalogStore

extension DynamoDBStore: CatalogStore {
    public func createProduct(_ product: Product) async throws(StorageError) {
        if try await productItem(id: product.id) != nil { throw .alreadyExists }
        try await claimSKUs(product.variants.map(\.sku), for: product.id, at: product.createdAt)
        let put = DDBRequest(TableName: tables.products, Item: Self.item(product), ConditionExpression: "attribute_not_exists(ProductID)")
        guard try await write(.init(Put: put)) else { throw .alreadyExists }
    }

    public func product(id: String) async throws(StorageError) -> Product? {
        try await productItem(id: id).map { item throws(StorageError) in try Self.product(item) }
    }

    public func products(ids: [String]) async throws(StorageError) -> [Product] {
        try await productItems(ids: ids).map { item throws(StorageError) in try Self.product(item) }
    }

    public func replaceProduct(_ edit: ProductEdit, at now: Date) async throws(StorageError) -> Product {
        for _ in 0..<5 {
            guard let item = try await productItem(id: edit.id) else { throw .notFound }
            if Self.isLegacy(item) {
                try await upgradeLegacy(item, at: now)
                continue
            }
            let current = try Self.product(item)
            guard current.version == edit.expectedVersion else { throw .versionMismatch(current: current.version) }
            let next = edit.applied(to: current, at: now)
            let keptIds = Set(next.variants.map(\.id))
            let removed = Set(current.variants.map(\.id)).subtracting(keptIds)
            if !removed.isEmpty, let held = try await unpaidOrderHolds(productId: edit.id, variantIds: removed) {
                throw .variantInUse(held)
            }
            let oldKeys = Set(current.variants.map { SKU.key($0.sku) })
            let newKeys = Set(next.variants.map { SKU.key($0.sku) })
            try await claimSKUs(next.variants.map(\.sku).filter { !oldKeys.contains(SKU.key($0)) }, for: edit.id, at: now)
            // The whole item, written only if nothing moved since the read: the version, and every variant's stock.
            // (Not `Quantity`: the Put writes the sum afresh, so a sum out of step is mended rather than refused forever.)
            var condition = "Version = :v"
            var names: [String: String] = [:]
            var values: Item = [":v": .int(current.version)]
            for (index, variant) in current.variants.enumerated() {
                condition += " AND #s\(index) = :s\(index)"
                names["#s\(index)"] = Self.stockAttribute(variant.id)
                values[":s\(index)"] = .int(variant.quantity)
            }
            let put = DDBRequest(
                TableName: tables.products, Item: Self.item(next), ConditionExpression: condition,
                ExpressionAttributeNames: names, ExpressionAttributeValues: values)
            if try await write(.init(Put: put)) {
                await releaseSKUs(current.variants.map(\.sku).filter { !newKeys.contains(SKU.key($0)) }, of: edit.id)
                return next
            }
        }
        throw .busy
    }

    public func setProductImage(id: String, variantId: String?, imageUrl: String, at now: Date) async throws(StorageError) -> Product {
        for _ in 0..<5 {
            guard let item = try await productItem(id: id) else { throw .notFound }
            var update = DDBRequest(
                TableName: tables.products, Key: ["ProductID": .s(id)], ConditionExpression: "attribute_exists(ProductID)",
                UpdateExpression: "SET ImageUrl = :url, UpdatedAt = :now, Version = Version + :one",
                ExpressionAttributeValues: [":url": .s(imageUrl), ":now": .int64(now.ms), ":one": .int(1)])
            if let variantId {
                if Self.isLegacy(item) {
                    try await upgradeLegacy(item, at: now)
                    continue
                }
                guard let index = try Self.product(item).variants.firstIndex(where: { $0.id == variantId }) else {
                    throw .variantNotFound(productId: id, variantId: variantId)
                }
                // By position, conditioned on the variant still being there.
                update.ConditionExpression = "#v[\(index)].#id = :vid"
                update.UpdateExpression = "SET #v[\(index)].#img = :url, UpdatedAt = :now, Version = Version + :one"
                update.ExpressionAttributeNames = ["#v": "Variants", "#id": "Id", "#img": "ImageUrl"]
                update.ExpressionAttributeValues?[":vid"] = .s(variantId)
            }
            if try await write(.init(Update: update)), let current = try await product(id: id) { return current }
        }
        throw .busy
    }

    public func deleteProduct(id: String) async throws(StorageError) {
        guard let item = try await productItem(id: id) else { throw .notFound }
        let delete = DDBRequest(TableName: tables.products, Key: ["ProductID": .s(id)], ConditionExpression: "attribute_exists(ProductID)")
        guard try await write(.init(Delete: delete)) else { throw .notFound }
        if !Self.isLegacy(item) { await releaseSKUs(try Self.product(item).variants.map(\.sku), of: id) }
    }

    public func adjustStock(id: String, variantId: String?, delta: Int, at now: Date) async throws(StorageError) -> Product {
        let ceiling = Limits.stockRange.upperBound
        for _ in 0..<5 {
            guard let item = try await productItem(id: id) else { throw .notFound }
            if Self.isLegacy(item) {
                try await upgradeLegacy(item, at: now)
                continue
            }
            let current = try Self.product(item)
            let variant: ProductVariant
            if let variantId {
                guard let named = current.variant(id: variantId) else { throw .variantNotFound(productId: id, variantId: variantId) }
                variant = named
            } else {
                guard current.hasOneVariant else { throw .variantRequired }
                variant = current.variants[0]
            }
            // Both bounds in the condition: the add happens only if the result stays in range. A transaction
            // with a token, so that a replay after a lost answer cannot add the delta twice.
            let update = DDBRequest(
                TableName: tables.products, Key: ["ProductID": .s(id)],
                ConditionExpression: "#st >= :floor AND #st <= :ceiling",
                UpdateExpression: "SET #st = #st + :delta, Quantity = Quantity + :delta, UpdatedAt = :now",
                ExpressionAttributeNames: ["#st": Self.stockAttribute(variant.id)],
                ExpressionAttributeValues: [
                    ":delta": .int(delta), ":now": .int64(now.ms), ":floor": .int(max(0, -delta)),
                    ":ceiling": .int(ceiling - max(0, delta)),
                ])
            let written = try await write(.init(Update: update))
            guard let after = try await product(id: id) else { throw .notFound }
            if written { return after }
            guard let now = after.variant(id: variant.id) else { throw .variantNotFound(productId: id, variantId: variant.id) }
            if now.quantity + delta < 0 { throw .insufficientStock(available: now.quantity) }
            if now.quantity + delta > ceiling { throw .stockLimitExceeded(current: now.quantity) }
        }
        throw .busy
    }

    public func listProducts(category: String?, limit: Int, after: String?) async throws(StorageError) -> Page<Product> {
        let (index, hashName, hashValue) =
            category.map { (DynamoDBSchema.productsByCategory, "Category", $0) }
            ?? (DynamoDBSchema.productsByCatalog, "Catalog", "P")
        let start: Item? = after.map { ["ProductID": .s($0), hashName: .s(hashValue)] }
        // The listing indexes hold only keys (a sale would otherwise rewrite them: docs/DYNAMODB.md); the
        // page's products are then read, consistently, from the table.
        let keys = try await query(
            table: tables.products, index: index, keyCondition: "#h = :h", names: ["#h": hashName], values: [":h": .s(hashValue)],
            forward: true, start: start, want: limit + 1)
        let ids = keys.prefix(limit).compactMap { $0["ProductID"]?.string }
        let found = Dictionary(try await products(ids: ids).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        // A product deleted, or moved to another category, since the index saw it is left out.
        let products = ids.compactMap { found[$0] }.filter { category == nil || $0.category == category }
        return Page(items: products, nextKey: keys.count > limit ? ids.last : nil)
    }

    public func productCount() async throws(StorageError) -> Int {
        // Used only to decide whether to seed; one page answers "is it empty".
        try await query(
            table: tables.products, index: DynamoDBSchema.productsByCatalog, keyCondition: "#c = :p", names: ["#c": "Catalog"],
            values: [":p": .s("P")], forward: true, start: nil, want: 1
        ).count
    }
}
