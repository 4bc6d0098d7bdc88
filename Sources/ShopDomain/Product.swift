#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A product in the catalog. Prices are integers in minor units of `currency`. What is sold and stocked are its
/// `variants`; a product without options has exactly one, its default (id = the product's id, `options` = `{}`).
public struct Product: Sendable, Codable, Equatable, Hashable {
    public var id: String
    public var name: String
    public var description: String
    public var currency: String
    public var category: String
    public var imageUrl: String?
    /// Counts edits of the editable fields (variants included). Stock moves do not change it, so an
    /// `If-Match` on an edit is not defeated by every sale; the ETag (`entityTag`) does change.
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var options: [ProductOption]
    /// 1 to 100, in the admin's order.
    public var variants: [ProductVariant]

    /// The lowest variant price ("from"): read-only, a view of the variants.
    public var price: Int { variants.lazy.map(\.price).min() ?? 0 }
    /// The stock of every variant together: read-only, a view of the variants.
    public var quantity: Int { variants.reduce(0) { $0 + $1.quantity } }

    public init(
        id: String, name: String, description: String, currency: String, category: String, imageUrl: String? = nil,
        version: Int = 1, createdAt: Date, updatedAt: Date, options: [ProductOption], variants: [ProductVariant]
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.currency = currency
        self.category = category
        self.imageUrl = imageUrl
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.options = options
        self.variants = variants
    }

    /// A product without options: its one default variant has `price` and `quantity`.
    public init(
        id: String, name: String, description: String, price: Int, currency: String,
        quantity: Int, category: String, imageUrl: String? = nil, version: Int = 1,
        createdAt: Date, updatedAt: Date, sku: String? = nil
    ) {
        self.init(
            id: id, name: name, description: description, currency: currency, category: category, imageUrl: imageUrl,
            version: version, createdAt: createdAt, updatedAt: updatedAt, options: [],
            variants: [
                ProductVariant(id: id, sku: sku ?? SKU.make(productName: name, values: [], variantId: id), price: price, quantity: quantity)
            ])
    }

    /// Builds a new product (version 1) without options from validated fields.
    public init(id: String, fields: ProductFields, quantity: Int, at now: Date) {
        self.init(
            id: id, name: fields.name, description: fields.description, price: fields.price,
            currency: fields.currency, quantity: quantity, category: fields.category,
            version: 1, createdAt: now, updatedAt: now)
    }

    /// Whether this product is its one default variant (no options): the product's own routes price and stock it.
    public var hasOneVariant: Bool { variants.count == 1 }

    /// The variant with this id.
    public func variant(id: String) -> ProductVariant? { variants.first { $0.id == id } }

    enum CodingKeys: String, CodingKey {
        case id, name, description, price, currency, quantity, category, imageUrl, version, createdAt, updatedAt, options, variants
    }

    /// Reads a product as the API writes it; without `variants` (an older writer), `price` and `quantity` make the default one.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let id = try c.decode(String.self, forKey: .id)
        let name = try c.decode(String.self, forKey: .name)
        var variants = try c.decodeIfPresent([ProductVariant].self, forKey: .variants) ?? []
        if variants.isEmpty {
            variants = [
                ProductVariant(
                    id: id, sku: SKU.make(productName: name, values: [], variantId: id),
                    price: try c.decode(Int.self, forKey: .price), quantity: try c.decode(Int.self, forKey: .quantity))
            ]
        }
        self.init(
            id: id, name: name, description: try c.decode(String.self, forKey: .description),
            currency: try c.decode(String.self, forKey: .currency), category: try c.decode(String.self, forKey: .category),
            imageUrl: try c.decodeIfPresent(String.self, forKey: .imageUrl), version: try c.decode(Int.self, forKey: .version),
            createdAt: try c.decode(Date.self, forKey: .createdAt), updatedAt: try c.decode(Date.self, forKey: .updatedAt),
            options: try c.decodeIfPresent([ProductOption].self, forKey: .options) ?? [], variants: variants)
    }

    /// Encodes every field, `imageUrl` as `null` when there is none, as the API contract shows it.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(price, forKey: .price)
        try c.encode(currency, forKey: .currency)
        try c.encode(quantity, forKey: .quantity)
        try c.encode(category, forKey: .category)
        try c.encode(imageUrl, forKey: .imageUrl)
        try c.encode(version, forKey: .version)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(options, forKey: .options)
        try c.encode(variants, forKey: .variants)
    }

    /// The fields a product edit (`PUT`) replaces besides options and variants; `price` is the one variant's.
    public var fields: ProductFields {
        ProductFields(name: name, description: description, price: price, currency: currency, category: category)
    }
}

extension Product {
    /// The strong entity tag of the product's representation: `"v<version>-<quantity>-<updatedAt ms>"`.
    /// `version` covers every editable field; quantity and `updatedAt` move without it (sales, stock
    /// adjustments), so they are in the tag too: whenever any field of the body changes, so does the tag.
    /// With several variants a digest of their stock is added, so that a unit moving from one to another in the same
    /// millisecond still changes the tag.
    public var entityTag: String {
        guard variants.count > 1 else { return "\"v\(version)-\(quantity)-\(updatedAt.unixMillis)\"" }
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for variant in variants {
            digest = (digest ^ UInt64(truncatingIfNeeded: variant.quantity)) &* 0x100_0000_01b3
        }
        return "\"v\(version)-\(quantity)-\(updatedAt.unixMillis)-\(String(digest, radix: 36))\""
    }

    /// The edit version an `If-Match` tag names (`"v3-..."`, or the older `"v3"`; `W/` allowed), or nil
    /// for a value that is not one of our tags.
    public static func version(fromEntityTag tag: String) -> Int? {
        var tag = Substring(tag)
        if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
        guard tag.hasPrefix("\"v"), tag.hasSuffix("\""), tag.count > 3 else { return nil }
        let inner = tag.dropFirst(2).dropLast()
        return Int(inner.prefix { $0 != "-" })
    }
}

/// The editable fields of a product: everything an admin replaces with `PUT`.
public struct ProductFields: Sendable, Codable, Equatable, Hashable {
    public var name: String
    public var description: String
    public var price: Int
    public var currency: String
    public var category: String

    public init(name: String, description: String, price: Int, currency: String, category: String) {
        self.name = name
        self.description = description
        self.price = price
        self.currency = currency
        self.category = category
    }

    /// Returns the fields trimmed and checked against the catalog's limits.
    public func validated() throws(DomainError) -> ProductFields {
        var problems: [FieldProblem] = []
        let name = self.name.trimmingWhitespace()
        let category = self.category.trimmingWhitespace()
        // Uppercase ASCII only: "ßa".uppercased() would become a valid-looking "SSA".
        let currency = String(self.currency.trimmingWhitespace().map { $0.isASCII ? Character($0.uppercased()) : $0 })
        if name.isEmpty || !Limits.fits(name, Limits.productNameMax) {
            problems.append(
                .init(field: "name", problem: "must be 1 to \(Limits.productNameMax) characters (\(4 * Limits.productNameMax) bytes)"))
        }
        if !Limits.fits(description, Limits.productDescriptionMax) {
            problems.append(
                .init(
                    field: "description",
                    problem: "must be at most \(Limits.productDescriptionMax) characters (\(4 * Limits.productDescriptionMax) bytes)"))
        }
        if !(Limits.priceRange ~= price) {
            problems.append(
                .init(field: "price", problem: "must be \(Limits.priceRange.lowerBound) to \(Limits.priceRange.upperBound) minor units"))
        }
        if !Currency.isValid(currency) {
            problems.append(.init(field: "currency", problem: "must be a 3-letter ISO 4217 code such as USD"))
        }
        if category.isEmpty || !Limits.fits(category, Limits.categoryMax) {
            problems.append(
                .init(field: "category", problem: "must be 1 to \(Limits.categoryMax) characters (\(4 * Limits.categoryMax) bytes)"))
        }
        guard problems.isEmpty else { throw .invalid(problems) }
        return ProductFields(name: name, description: description, price: price, currency: currency, category: category)
    }
}

/// Validates a stock quantity as held by a product.
public func validateQuantity(_ quantity: Int, field: String = "quantity") throws(DomainError) {
    guard Limits.stockRange ~= quantity else {
        throw .invalid([.init(field: field, problem: "must be \(Limits.stockRange.lowerBound) to \(Limits.stockRange.upperBound)")])
    }
}

/// Currency codes: three ASCII capital letters.
public enum Currency {
    public static func isValid(_ code: String) -> Bool {
        code.utf8.count == 3 && code.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }
}

/// The limits of the HTTP API contract, in one place.
public enum Limits {
    /// Whether `text` is within a limit of `characters`: at most that many characters, and at most four
    /// UTF-8 bytes per allowed character (one character can hold any number of combining marks).
    public static func fits(_ text: some StringProtocol, _ characters: Int) -> Bool {
        text.utf8.count <= 4 * characters && text.count <= characters
    }

    /// Ids in paths and bodies (ours are 36-character UUIDs): at most this many bytes.
    public static let idMaxBytes = 100

    public static let productNameMax = 200
    public static let productDescriptionMax = 5_000
    public static let categoryMax = 100
    public static let priceRange = 1...100_000_000
    public static let stockRange = 0...1_000_000
    public static let orderLinesRange = 1...50
    public static let lineQuantityRange = 1...1_000
    public static let pageSizeRange = 1...100
    public static let defaultPageSize = 20
    public static let requestBodyMax = 1 << 20
    public static let emailMax = 254
    public static let passwordMin = 8
    public static let userNameMax = 200
    public static let idempotencyKeyMax = 255
    /// The most one order may cost, in minor units: Stripe's limit for one payment (8 digits).
    public static let orderTotalMax = 99_999_999
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
