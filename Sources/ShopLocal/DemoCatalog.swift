import ShopAPI
import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The catalog a new store starts with, so that the first `shop serve` has something to sell.
public enum DemoCatalog {
    private static func item(_ name: String, _ category: String, _ price: Int, _ stock: Int, _ description: String) -> ProductDraft {
        ProductDraft(
            fields: ProductFields(name: name, description: description, price: price, currency: "USD", category: category), quantity: stock)
    }

    /// A product sold in variants: one option, a price and stock per value.
    private static func choice(
        _ name: String, _ category: String, _ option: String, _ values: [(value: String, price: Int, stock: Int)], _ description: String
    ) -> ProductDraft {
        ProductDraft(
            fields: ProductFields(name: name, description: description, price: values[0].price, currency: "USD", category: category),
            options: [ProductOption(name: option, values: values.map(\.value))],
            variants: values.map { VariantSpec(options: [option: $0.value], price: $0.price, quantity: $0.stock) })
    }

    public static let products: [ProductDraft] = [
        choice(
            "Guatemala Huehuetenango, 250 g", "coffee", "Grind",
            [("Whole bean", 1_550, 50), ("Espresso", 1_550, 20), ("Filter", 1_550, 30), ("French press", 1_550, 0)],
            "Washed Bourbon and Caturra from high farms: dark chocolate, plum and brown sugar. Ground to order, or whole."),
        choice(
            "Stoneware Mug, 350 ml", "kitchen", "Colour", [("Chalk", 1_900, 24), ("Charcoal", 1_900, 12)],
            "Thrown and glazed by hand, with a wide handle and a foot that does not scratch the table."),
        choice(
            "Paper Filters No. 2", "kitchen", "Pack", [("100 filters", 650, 80), ("500 filters", 2_600, 15)],
            "Oxygen-bleached paper for size 02 cone drippers. Rinse once before brewing."),
        item(
            "Ethiopia Yirgacheffe, 250 g", "coffee", 1_450, 120,
            "Washed single-origin beans with notes of bergamot, jasmine and lemon. Light roast, roasted to order."),
        item(
            "Colombia Huila Decaf, 250 g", "coffee", 1_350, 80,
            "Sugar-cane processed decaf with a round body, milk chocolate and red apple. Medium roast."),
        item(
            "House Espresso Blend, 1 kg", "coffee", 3_900, 60,
            "Brazil and Guatemala, roasted for milk drinks: hazelnut, cocoa and a long caramel finish."),
        item("Kenya Nyeri AA, 250 g", "coffee", 1_750, 40, "Bright and juicy, blackcurrant and grapefruit. For filter and AeroPress."),
        item(
            "Hand Grinder with Steel Burrs", "kitchen", 8_900, 25,
            "38 mm conical steel burrs, 40 clicked settings from espresso to French press, aluminium body."),
        item(
            "Gooseneck Pour-Over Kettle, 1 L", "kitchen", 5_400, 30,
            "Stainless steel, thermometer in the lid, a slim spout for a steady, precise pour."),
        item(
            "Ceramic Dripper No. 2", "kitchen", 2_200, 50,
            "Glazed porcelain cone with spiral ribs for an even extraction. Fits size 02 filters."),
        item("Double-Walled Glass Mugs, Set of 2", "kitchen", 2_800, 45, "Borosilicate glass, 300 ml. Keeps coffee hot and hands cool."),
        item("Digital Coffee Scale with Timer", "kitchen", 3_600, 35, "0.1 g resolution up to 2 kg, built-in timer, USB-C rechargeable."),
        item(
            "The World Atlas of Coffee", "books", 3_200, 20,
            "From beans to brewing: coffees explored, explained and enjoyed, country by country."),
        item("Water for Coffee", "books", 4_500, 12, "The chemistry of brewing water, and how to make your own for a better cup."),
        item(
            "The Professional Barista's Handbook", "books", 2_950, 15,
            "An expert guide to preparing espresso, coffee and tea, from extraction to milk texture."),
        item(
            "Insulated Camping Press, 500 ml", "outdoor", 4_200, 18,
            "Vacuum-insulated steel French press that brews and keeps coffee hot on the trail."),
        item(
            "Titanium Camp Mug, 450 ml", "outdoor", 2_600, 40, "Weighs 70 g, folding handles, safe on a stove. Nests over a gas canister."),
        item("Portable Espresso Maker", "outdoor", 6_900, 10, "Hand-pumped, up to 16 bar, no batteries. Pulls a real espresso anywhere."),
    ]
}

extension DemoCatalog {
    /// A demo product's picture (scripts/demo-images.py draws them into DemoPictures.swift): the file name it is
    /// stored under, `products/<product id>/<file>`, and its WebP bytes. Nil for a name the demo catalog does not have.
    public static func picture(for name: String) -> (file: String, bytes: [UInt8])? {
        guard let entry = DemoPictures.byName[name], let data = Data(base64Encoded: entry.base64.filter { !$0.isWhitespace }) else {
            return nil
        }
        return (entry.file, [UInt8](data))
    }

    /// What `seed` did.
    public struct Seeded: Sendable, Equatable {
        /// The products added: 0 when the catalog was not empty.
        public var products: Int
        /// The products that got their picture.
        public var pictures: Int
        /// Why products were added without their pictures, if they were.
        public var withoutPictures: String?

        public init(products: Int, pictures: Int, withoutPictures: String? = nil) {
            self.products = products
            self.pictures = pictures
            self.withoutPictures = withoutPictures
        }
    }

    /// Adds the demo catalog if the catalog is empty, each product with its picture, stored as an upload is (in the
    /// local image files, then committed: checked for size, type and leading bytes, and set as the product's
    /// `imageUrl`). Where images are not files on this server (S3), the products are added without pictures and
    /// `withoutPictures` says so. A catalog that is not empty is left alone, so seeding again adds nothing.
    public static func seed(_ services: ShopServices) async throws(APIError) -> Seeded {
        let added = try await services.catalog.seedIfEmpty(products)
        var seeded = Seeded(products: added.count, pictures: 0)
        guard !added.isEmpty else { return seeded }
        guard let files = services.localImages else {
            seeded.withoutPictures = "images are not files on this server (SHOP_IMAGES=s3): upload pictures through the admin pages"
            return seeded
        }
        var missing: [String] = []
        for product in added {
            guard let picture = picture(for: product.name) else {
                missing.append("\(product.name): no picture")
                continue
            }
            // Under the new product's own id, as an upload's key is: stored once, then committed like an upload.
            let key = "products/\(product.id)/\(picture.file)"
            do {
                try files.store(key: key, bytes: picture.bytes)
            } catch {
                missing.append("\(product.name): \(error)")
                continue
            }
            do {
                _ = try await services.images.commit(productId: product.id, key: key)
                seeded.pictures += 1
            } catch {
                missing.append("\(product.name): \(error.message)")
            }
        }
        if !missing.isEmpty { seeded.withoutPictures = missing.joined(separator: "; ") }
        return seeded
    }
}
