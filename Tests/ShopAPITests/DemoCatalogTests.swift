import Foundation
import HTTPTypes
import HummingbirdTesting
import ShopAPI
import ShopDomain
import ShopLocal
import ShopStorage
import Testing

/// The catalog a new store starts with: every product with its picture, stored and served as an upload is.
@Suite("The demo catalog")
struct DemoCatalogTests {
    /// A WebP file's width and height, from its lossy (VP8) frame header; nil if it is not a lossy WebP.
    static func webpSize(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        guard bytes.count >= 30, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<16]) == Array("WEBPVP8 ".utf8),
            Array(bytes[23..<26]) == [0x9D, 0x01, 0x2A]
        else { return nil }
        return (Int(bytes[26]) | Int(bytes[27] & 0x3F) << 8, Int(bytes[28]) | Int(bytes[29] & 0x3F) << 8)
    }

    @Test func everyDemoProductHasASmallWebPPicture() throws {
        var total = 0
        var files: Set<String> = []
        for draft in DemoCatalog.products {
            let picture = try #require(DemoCatalog.picture(for: draft.fields.name), "\(draft.fields.name) has no picture")
            #expect(ImageRules.contentMatches(picture.bytes, contentType: "image/webp"), "\(picture.file)")
            #expect(ImageRules.contentType(ofKey: "products/p/\(picture.file)") == "image/webp")
            let size = try #require(Self.webpSize(picture.bytes), "\(picture.file) is not a lossy WebP")
            #expect(size.width == 400 && size.height == 400, "\(picture.file): \(size)")
            #expect(picture.bytes.count < 8_000, "\(picture.file): \(picture.bytes.count) bytes")
            total += picture.bytes.count
            files.insert(picture.file)
        }
        #expect(files.count == DemoCatalog.products.count, "one file name per product")
        #expect(total < 100_000, "\(total) bytes in all")
        #expect(DemoCatalog.picture(for: "Not a demo product") == nil)
    }

    /// `shop serve` and `shop seed` on an empty store: each product's imageUrl is its picture, served as image/webp.
    @Test func theSeedGivesEachProductItsPictureAndThePictureIsServed() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let seeded = try await DemoCatalog.seed(shop.services)
        #expect(seeded == DemoCatalog.Seeded(products: DemoCatalog.products.count, pictures: DemoCatalog.products.count))

        let products = try await shop.services.catalog.list(category: nil, limit: 100, after: nil).items
        #expect(products.count == DemoCatalog.products.count)
        try await shop.test { c in
            for product in products {
                let picture = try #require(DemoCatalog.picture(for: product.name))
                let imageUrl = try #require(product.imageUrl, "\(product.name) has no imageUrl")
                #expect(imageUrl == "/images/products/\(product.id)/\(picture.file)")
                #expect(try await c.send(.get, "/products/\(product.id)").string("imageUrl") == imageUrl)
                let served = try await c.client.execute(uri: imageUrl, method: .get)
                #expect(served.status == .ok, "\(imageUrl)")
                #expect(served.headers[.contentType] == "image/webp")
                let bytes = [UInt8](Data(buffer: served.body))
                #expect(bytes.count > 12 && Array(bytes[0..<4]) == Array("RIFF".utf8) && Array(bytes[8..<12]) == Array("WEBP".utf8))
                #expect(bytes == picture.bytes)
            }
        }

        // Seeding again adds nothing and changes no picture.
        #expect(try await DemoCatalog.seed(shop.services) == DemoCatalog.Seeded(products: 0, pictures: 0))
        let again = try await shop.services.catalog.list(category: nil, limit: 100, after: nil).items
        #expect(again.map(\.id).sorted() == products.map(\.id).sorted())
        let urls: [String] = products.compactMap(\.imageUrl).sorted()
        let urlsAgain: [String] = again.compactMap(\.imageUrl).sorted()
        #expect(urlsAgain == urls)
    }

    /// Where images are not files on this server (S3), the products are added without pictures, and the seed says so.
    @Test func withoutLocalImagesTheProductsComeWithoutPictures() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        var services = shop.services
        services.localImages = nil
        let seeded = try await DemoCatalog.seed(services)
        #expect(seeded.products == DemoCatalog.products.count)
        #expect(seeded.pictures == 0)
        #expect(seeded.withoutPictures?.contains("SHOP_IMAGES=s3") == true)
        let products = try await shop.services.catalog.list(category: nil, limit: 100, after: nil).items
        #expect(products.count == DemoCatalog.products.count && products.allSatisfy { $0.imageUrl == nil })
    }

    /// A catalog that is not empty is left alone: no demo products, no pictures.
    @Test func aStoreWithProductsIsNotSeeded() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.product("Mine")
        #expect(try await DemoCatalog.seed(shop.services) == DemoCatalog.Seeded(products: 0, pictures: 0))
        #expect(try await shop.services.catalog.list(category: nil, limit: 100, after: nil).items.map(\.name) == ["Mine"])
    }
}
