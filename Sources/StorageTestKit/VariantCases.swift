import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    /// A jacket in two sizes and two colours: four variants, each with its own stock.
    static func makeJacket(stock: [Int] = [4, 5, 6, 7], price: Int = 12_900, at date: Date = t0) -> Product {
        let id = Identifier.make(at: date)
        let options = [ProductOption(name: "Size", values: ["M", "L"]), ProductOption(name: "Colour", values: ["Olive", "Navy"])]
        var variants: [ProductVariant] = []
        for (index, (size, colour)) in [("M", "Olive"), ("M", "Navy"), ("L", "Olive"), ("L", "Navy")].enumerated() {
            let variantId = Identifier.make(at: date)
            variants.append(
                ProductVariant(
                    id: variantId, sku: "JKT-\(size)-\(colour)-\(variantId.suffix(8))", options: ["Size": size, "Colour": colour],
                    price: price + 100 * index, quantity: stock[index]))
        }
        return Product(
            id: id, name: "Field Jacket", description: "Waxed cotton.", currency: "USD", category: "outdoor", createdAt: date,
            updatedAt: date,
            options: options, variants: variants)
    }

    static func makeOrder(userId: String = "user-1", variants: [(Product, ProductVariant, Int)], at date: Date = t0) -> Order {
        let lines = variants.map {
            OrderLine(
                productId: $0.0.id, variantId: $0.1.id, sku: $0.1.sku, options: $0.1.options,
                name: $0.1.lineName(productName: $0.0.name, options: $0.0.options), unitPrice: $0.1.price, quantity: $0.2)
        }
        return Order(
            id: Identifier.make(at: date), userId: userId, lines: lines, total: lines.reduce(0) { $0 + $1.lineTotal },
            currency: "USD", status: .pendingPayment, createdAt: date, updatedAt: date, expiresAt: date.addingTimeInterval(900))
    }

    static func variantStock(_ store: StoreHarness, _ id: String) async throws -> [Int] {
        try await store.catalog.product(id: id)?.variants.map(\.quantity) ?? []
    }

    static let variantCases: [Case] = [
        Case(name: "variants: a product reads back with its options and variants in order; price and quantity are views") { s in
            let p = makeJacket()
            try await s.catalog.createProduct(p)
            let read = try #require(try await s.catalog.product(id: p.id))
            #expect(read.options == p.options)
            #expect(read.variants == p.variants)
            #expect(read.price == 12_900 && read.quantity == 22)
            #expect(try await s.catalog.products(ids: [p.id]).first?.variants == p.variants)
            let listed = try await s.catalog.listProducts(category: nil, limit: 10, after: nil)
            #expect(listed.items.first { $0.id == p.id }?.variants == p.variants)
        },
        Case(name: "variants: an order takes stock of exactly its variants, and a cancel gives it back to them") { s in
            let p = makeJacket()
            try await s.catalog.createProduct(p)
            // Two variants of one product are two lines.
            let order = makeOrder(variants: [(p, p.variants[1], 2), (p, p.variants[3], 3)])
            _ = try await s.orders.placeOrder(order, claim: nil, at: t0)
            #expect(try await variantStock(s, p.id) == [4, 3, 6, 4])
            #expect(try await stock(s, p.id) == 17)
            _ = try await s.orders.transitionOrder(id: order.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: at(1))
            #expect(try await variantStock(s, p.id) == [4, 5, 6, 7])
            #expect(try await stock(s, p.id) == 22)
        },
        Case(name: "variants: a short variant is named, with what it has; nothing is taken") { s in
            let p = makeJacket(stock: [4, 1, 6, 0])
            try await s.catalog.createProduct(p)
            let order = makeOrder(variants: [(p, p.variants[0], 2), (p, p.variants[1], 2), (p, p.variants[3], 1)])
            await #expect(
                throws: StorageError.outOfStock([
                    StockShortage(productId: p.id, variantId: p.variants[1].id, requested: 2, available: 1),
                    StockShortage(productId: p.id, variantId: p.variants[3].id, requested: 1, available: 0),
                ])
            ) {
                _ = try await s.orders.placeOrder(order, claim: nil, at: t0)
            }
            #expect(try await variantStock(s, p.id) == [4, 1, 6, 0])
            let ghost = makeOrder(variants: [(p, ProductVariant(id: "no-such-variant", sku: "X", price: 1, quantity: 1), 1)])
            await #expect(throws: StorageError.variantNotFound(productId: p.id, variantId: "no-such-variant")) {
                _ = try await s.orders.placeOrder(ghost, claim: nil, at: t0)
            }
        },
        Case(name: "variants: stock moves per variant within bounds; the product route needs one variant") { s in
            let p = makeJacket()
            try await s.catalog.createProduct(p)
            let moved = try await s.catalog.adjustStock(id: p.id, variantId: p.variants[2].id, delta: -6, at: at(1))
            #expect(moved.variants.map(\.quantity) == [4, 5, 0, 7] && moved.quantity == 16)
            await #expect(throws: StorageError.insufficientStock(available: 0)) {
                _ = try await s.catalog.adjustStock(id: p.id, variantId: p.variants[2].id, delta: -1, at: at(2))
            }
            await #expect(throws: StorageError.stockLimitExceeded(current: 7)) {
                _ = try await s.catalog.adjustStock(id: p.id, variantId: p.variants[3].id, delta: Limits.stockRange.upperBound, at: at(2))
            }
            await #expect(throws: StorageError.variantRequired) { _ = try await s.catalog.adjustStock(id: p.id, delta: 1, at: at(2)) }
            await #expect(throws: StorageError.variantNotFound(productId: p.id, variantId: "nope")) {
                _ = try await s.catalog.adjustStock(id: p.id, variantId: "nope", delta: 1, at: at(2))
            }
            #expect(try await variantStock(s, p.id) == [4, 5, 0, 7])
            // The ETag moves with any variant's stock, even when the total does not.
            let before = try #require(try await s.catalog.product(id: p.id))
            _ = try await s.catalog.adjustStock(id: p.id, variantId: p.variants[0].id, delta: -1, at: before.updatedAt)
            let after = try await s.catalog.adjustStock(id: p.id, variantId: p.variants[1].id, delta: 1, at: before.updatedAt)
            #expect(after.quantity == before.quantity && after.entityTag != before.entityTag)
        },
        Case(name: "variants: an edit keeps kept variants' stock, starts new ones at theirs, deletes the rest, checks the version") { s in
            let p = makeJacket()
            try await s.catalog.createProduct(p)
            var kept = p.variants[0]
            kept.price = 9_900
            kept.quantity = 999  // ignored: a kept variant keeps its stock
            let added = ProductVariant(
                id: Identifier.make(at: at(1)), sku: "JKT-XL-OLIVE", options: ["Size": "XL", "Colour": "Olive"], price: 15_000, quantity: 3)
            let edit = ProductEdit(
                id: p.id, name: "Field Jacket II", description: "d", currency: "USD", category: "outdoor",
                options: [ProductOption(name: "Size", values: ["M", "XL"]), ProductOption(name: "Colour", values: ["Olive"])],
                variants: [kept, added], expectedVersion: 1)
            let edited = try await s.catalog.replaceProduct(edit, at: at(1))
            #expect(edited.version == 2 && edited.name == "Field Jacket II")
            #expect(edited.variants.map(\.id) == [kept.id, added.id] && edited.variants.map(\.quantity) == [4, 3])
            #expect(edited.price == 9_900 && edited.quantity == 7)
            #expect(try await s.catalog.product(id: p.id) == edited)
            await #expect(throws: StorageError.versionMismatch(current: 2)) { _ = try await s.catalog.replaceProduct(edit, at: at(2)) }
            // A variant's own stock route still works after the edit; the deleted ones are gone.
            #expect(try await s.catalog.adjustStock(id: p.id, variantId: added.id, delta: 2, at: at(3)).variants.map(\.quantity) == [4, 5])
            await #expect(throws: StorageError.variantNotFound(productId: p.id, variantId: p.variants[1].id)) {
                _ = try await s.catalog.adjustStock(id: p.id, variantId: p.variants[1].id, delta: 1, at: at(3))
            }
        },
        Case(name: "variants: SKUs are unique in the catalog without regard to case, and free again once unused") { s in
            let p = makeJacket()
            try await s.catalog.createProduct(p)
            var other = makeProduct()
            other.variants[0].sku = p.variants[2].sku.lowercased()
            await #expect(throws: StorageError.skuTaken(other.variants[0].sku)) { try await s.catalog.createProduct(other) }
            #expect(try await s.catalog.product(id: other.id) == nil)
            // Renaming the SKU in an edit frees the old one.
            var variants = p.variants
            variants[2].sku = "RENAMED-1"
            _ = try await s.catalog.replaceProduct(
                ProductEdit(
                    id: p.id, name: p.name, description: p.description, currency: "USD", category: p.category, options: p.options,
                    variants: variants, expectedVersion: 1), at: at(1))
            try await s.catalog.createProduct(other)
            #expect(try await s.catalog.product(id: other.id)?.variants[0].sku == other.variants[0].sku)
            var third = makeProduct()
            third.variants[0].sku = "renamed-1"
            await #expect(throws: StorageError.skuTaken("renamed-1")) { try await s.catalog.createProduct(third) }
        },
        Case(name: "variants: an edit may not delete a variant an unpaid order holds; a paid order's does not count") { s in
            let p = makeJacket()
            try await s.catalog.createProduct(p)
            let order = makeOrder(variants: [(p, p.variants[3], 1)])
            _ = try await s.orders.placeOrder(order, claim: nil, at: t0)
            let edit = ProductEdit(
                id: p.id, name: p.name, description: p.description, currency: "USD", category: p.category, options: p.options,
                variants: Array(p.variants.prefix(3)), expectedVersion: 1)
            await #expect(throws: StorageError.variantInUse(p.variants[3].id)) { _ = try await s.catalog.replaceProduct(edit, at: at(1)) }
            #expect(try await variantStock(s, p.id) == [4, 5, 6, 6])
            _ = try await s.orders.transitionOrder(id: order.id, from: [.pendingPayment], to: .paid, expiredBy: nil, at: at(2))
            let edited = try await s.catalog.replaceProduct(edit, at: at(3))
            #expect(edited.variants.count == 3 && edited.quantity == 15)
            // Cancelling the paid order now has no variant to return its unit to: it is dropped (and logged).
            _ = try await s.orders.transitionOrder(id: order.id, from: [.paid], to: .cancelled, expiredBy: nil, at: at(4))
            #expect(try await variantStock(s, p.id) == [4, 5, 6])
        },
        Case(name: "variants: a variant's image is its own; the product's stays") { s in
            let p = makeJacket()
            try await s.catalog.createProduct(p)
            let withImage = try await s.catalog.setProductImage(
                id: p.id, variantId: p.variants[1].id, imageUrl: "https://img.example/navy.webp", at: at(1))
            #expect(withImage.variants.map(\.imageUrl) == [nil, "https://img.example/navy.webp", nil, nil] && withImage.imageUrl == nil)
            #expect(withImage.version == 2)
            await #expect(throws: StorageError.variantNotFound(productId: p.id, variantId: "nope")) {
                _ = try await s.catalog.setProductImage(id: p.id, variantId: "nope", imageUrl: "https://img.example/x.webp", at: at(2))
            }
        },
        Case(name: "race: 50 buyers for the last 3 units of one variant get exactly 3 orders; its siblings do not move") { s in
            let p = makeJacket(stock: [3, 8, 8, 8])
            try await s.catalog.createProduct(p)
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            _ = try await s.orders.placeOrder(
                                makeOrder(userId: "buyer-\(i)", variants: [(p, p.variants[0], 1)]), claim: nil, at: t0)
                            return true
                        } catch {
                            let soldOut = StorageError.outOfStock([
                                StockShortage(productId: p.id, variantId: p.variants[0].id, requested: 1, available: 0)
                            ])
                            #expect((error as? StorageError) == soldOut)
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 3)
            #expect(try await variantStock(s, p.id) == [0, 8, 8, 8])
        },
    ]
}
