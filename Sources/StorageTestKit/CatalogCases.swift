import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    static let catalogCases: [Case] = [
        Case(name: "every stock move changes the product's entity tag, never its edit version") { s in
            let p = makeProduct(quantity: 10)
            try await s.catalog.createProduct(p)
            let before = try #require(try await s.catalog.product(id: p.id))
            let adjusted = try await s.catalog.adjustStock(id: p.id, delta: 3, at: at(5))
            #expect(adjusted.version == before.version)
            #expect(adjusted.entityTag != before.entityTag)
            #expect(try await s.catalog.product(id: p.id)?.entityTag == adjusted.entityTag, "the stored product has the returned tag")
            _ = try await s.orders.placeOrder(makeOrder(products: [(adjusted, 4)], at: at(6)), claim: nil, at: at(6))
            let sold = try #require(try await s.catalog.product(id: p.id))
            #expect(sold.quantity == 9)
            #expect(sold.version == before.version)
            #expect(sold.entityTag != adjusted.entityTag, "a sale changes the body (quantity), so it changes the tag")
        },
        Case(name: "product round-trips unchanged") { s in
            let p = makeProduct()
            try await s.catalog.createProduct(p)
            #expect(try await s.catalog.product(id: p.id) == p)
            #expect(try await s.catalog.product(id: "missing") == nil)
            #expect(try await s.catalog.productCount() == 1)
        },
        Case(name: "creating a product with a taken id fails") { s in
            let p = makeProduct()
            try await s.catalog.createProduct(p)
            await #expect(throws: StorageError.alreadyExists) { try await s.catalog.createProduct(p) }
        },
        Case(name: "batch read returns only existing products") { s in
            let a = makeProduct()
            let b = makeProduct()
            try await s.catalog.createProduct(a)
            try await s.catalog.createProduct(b)
            let found = try await s.catalog.products(ids: [a.id, "nope", b.id])
            #expect(Set(found.map(\.id)) == [a.id, b.id])
            #expect(try await s.catalog.products(ids: []).isEmpty)
        },
        Case(name: "update replaces fields, bumps version, honours expected version") { s in
            let p = makeProduct(quantity: 7)
            try await s.catalog.createProduct(p)
            var fields = p.fields
            fields.name = "Oak desk lamp"
            fields.price = 5_000
            let updated = try await s.catalog.updateProduct(id: p.id, fields: fields, expectedVersion: 1, at: at(10))
            #expect(updated.name == "Oak desk lamp")
            #expect(updated.price == 5_000)
            #expect(updated.version == 2)
            #expect(updated.quantity == 7, "an edit never touches stock")
            #expect(updated.updatedAt == at(10))
            #expect(updated.createdAt == p.createdAt)
            await #expect(throws: StorageError.versionMismatch(current: 2)) {
                try await s.catalog.updateProduct(id: p.id, fields: p.fields, expectedVersion: 1, at: at(11))
            }
            #expect(try await s.catalog.product(id: p.id)?.name == "Oak desk lamp", "a refused edit changes nothing")
            let unconditional = try await s.catalog.updateProduct(id: p.id, fields: p.fields, expectedVersion: nil, at: at(12))
            #expect(unconditional.version == 3)
            await #expect(throws: StorageError.notFound) {
                try await s.catalog.updateProduct(id: "missing", fields: p.fields, expectedVersion: nil, at: at(13))
            }
        },
        Case(name: "setting an image bumps the version and keeps everything else") { s in
            let p = makeProduct(quantity: 4)
            try await s.catalog.createProduct(p)
            let withImage = try await s.catalog.setProductImage(id: p.id, imageUrl: "https://img.example/p.png", at: at(5))
            #expect(withImage.imageUrl == "https://img.example/p.png")
            #expect(withImage.version == 2)
            #expect(withImage.quantity == 4)
            #expect(withImage.name == p.name)
            #expect(try await s.catalog.product(id: p.id) == withImage)
            await #expect(throws: StorageError.notFound) {
                try await s.catalog.setProductImage(id: "missing", imageUrl: "x", at: at(6))
            }
        },
        Case(name: "delete removes a product once") { s in
            let p = makeProduct()
            try await s.catalog.createProduct(p)
            try await s.catalog.deleteProduct(id: p.id)
            #expect(try await s.catalog.product(id: p.id) == nil)
            await #expect(throws: StorageError.notFound) { try await s.catalog.deleteProduct(id: p.id) }
        },
        Case(name: "stock adjusts atomically and never goes below zero") { s in
            let p = makeProduct(quantity: 5)
            try await s.catalog.createProduct(p)
            #expect(try await s.catalog.adjustStock(id: p.id, delta: 3, at: at(1)).quantity == 8)
            #expect(try await s.catalog.adjustStock(id: p.id, delta: -8, at: at(2)).quantity == 0)
            await #expect(throws: StorageError.insufficientStock(available: 0)) {
                try await s.catalog.adjustStock(id: p.id, delta: -1, at: at(3))
            }
            await #expect(throws: StorageError.stockLimitExceeded(current: 0)) {
                try await s.catalog.adjustStock(id: p.id, delta: Limits.stockRange.upperBound + 1, at: at(3))
            }
            #expect(try await stock(s, p.id) == 0)
            await #expect(throws: StorageError.notFound) { try await s.catalog.adjustStock(id: "missing", delta: 1, at: at(4)) }
            let version = try await s.catalog.product(id: p.id)?.version
            #expect(version == 1, "stock moves leave the edit version alone")
        },
        Case(name: "listing pages through every product exactly once, by category too") { s in
            var ids: [String] = []
            for i in 0..<23 {
                let p = makeProduct(name: "Item \(i)", category: i % 3 == 0 ? "books" : "home", at: at(Double(i)))
                try await s.catalog.createProduct(p)
                ids.append(p.id)
            }
            let all = try await allPages { try await s.catalog.listProducts(category: nil, limit: 5, after: $0) }
            #expect(all.map(\.id) == ids.sorted())
            let books = try await allPages { try await s.catalog.listProducts(category: "books", limit: 3, after: $0) }
            #expect(books.count == 8)
            #expect(books.allSatisfy { $0.category == "books" })
            let one = try await s.catalog.listProducts(category: nil, limit: 23, after: nil)
            #expect(one.items.count == 23)
            #expect(one.nextKey == nil, "no empty last page")
            #expect(try await s.catalog.listProducts(category: "garden", limit: 5, after: nil).items.isEmpty)
        },
        Case(name: "paging while products are added returns each existing product once") { s in
            var existing: Set<String> = []
            for i in 0..<12 {
                let p = makeProduct(at: at(Double(i)))
                try await s.catalog.createProduct(p)
                existing.insert(p.id)
            }
            var seen: [String] = []
            var key: String?
            var added = 0
            repeat {
                let page = try await s.catalog.listProducts(category: nil, limit: 4, after: key)
                seen += page.items.map(\.id)
                key = page.nextKey
                // New products arrive between pages, some sorting before the cursor.
                try await s.catalog.createProduct(makeProduct(at: at(Double(100 + added))))
                try await s.catalog.createProduct(makeProduct(at: at(-Double(100 + added))))
                added += 1
            } while key != nil && added < 50
            #expect(Set(seen).count == seen.count, "no product twice")
            #expect(existing.isSubset(of: Set(seen)), "no existing product skipped")
        },
    ]
}
