#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One way a product varies ("Size": S, M, L). A product has 0 to 3.
public struct ProductOption: Sendable, Codable, Equatable, Hashable {
    public var name: String
    public var values: [String]

    public init(name: String, values: [String]) {
        self.name = name
        self.values = values
    }
}

/// What a shopper buys: one combination of the product's option values, with its own SKU, price and stock.
/// A product without options has one, its default, whose id is the product's id and whose `options` is `{}`.
public struct ProductVariant: Sendable, Codable, Equatable, Hashable {
    public var id: String
    public var sku: String
    /// Option name → value, one entry per option of the product.
    public var options: [String: String]
    public var price: Int
    public var quantity: Int
    public var imageUrl: String?

    public init(id: String, sku: String, options: [String: String] = [:], price: Int, quantity: Int, imageUrl: String? = nil) {
        self.id = id
        self.sku = sku
        self.options = options
        self.price = price
        self.quantity = quantity
        self.imageUrl = imageUrl
    }

    enum CodingKeys: String, CodingKey { case id, sku, options, price, quantity, imageUrl }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(sku, forKey: .sku)
        try c.encode(options, forKey: .options)
        try c.encode(price, forKey: .price)
        try c.encode(quantity, forKey: .quantity)
        try c.encode(imageUrl, forKey: .imageUrl)
    }

    /// The option values in the product's option order ("M", "Navy").
    public func values(in options: [ProductOption]) -> [String] {
        options.compactMap { self.options[$0.name] }
    }

    /// What an order line calls this variant: "Field Jacket — M / Navy", or the product's name for a default variant.
    public func lineName(productName: String, options: [ProductOption]) -> String {
        let values = self.values(in: options)
        return values.isEmpty ? productName : productName + " — " + values.joined(separator: " / ")
    }
}

/// A variant as an admin describes it (`POST`/`PUT /products`): `id` names one kept from before; `sku` is made
/// when absent; `quantity` is a new variant's first stock (a kept one keeps its own).
public struct VariantSpec: Sendable, Equatable, Hashable, Codable {
    public var id: String?
    public var sku: String?
    public var options: [String: String]
    public var price: Int
    public var quantity: Int?

    public init(id: String? = nil, sku: String? = nil, options: [String: String] = [:], price: Int, quantity: Int? = nil) {
        self.id = id
        self.sku = sku
        self.options = options
        self.price = price
        self.quantity = quantity
    }
}

/// Stock-keeping units: 1 to 64 of `A–Z a–z 0–9 - _ .`, unique in the catalog without regard to case.
public enum SKU {
    public static let maxLength = 64

    public static func isValid(_ sku: String) -> Bool {
        (1...maxLength).contains(sku.utf8.count)
            && sku.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }

    /// The form uniqueness is decided on.
    public static func key(_ sku: String) -> String { sku.lowercased() }

    /// A SKU made from the product's name and the variant's option values, ending in eight characters of the
    /// variant's id so that two products of one name do not collide: "FIELD-JACKET-M-NAVY-9F0A1B2C".
    public static func make(productName: String, values: [String], variantId: String) -> String {
        let suffix = String(part(variantId, max: 64).replacingDashes().suffix(8))
        var base = ([part(productName, max: 24)] + values.map { part($0, max: 12) }).filter { !$0.isEmpty }.joined(separator: "-")
        if base.isEmpty { base = "SKU" }
        let room = maxLength - suffix.count - 1
        if base.utf8.count > room { base = String(base.prefix(room)) }
        while base.hasSuffix("-") { base.removeLast() }
        return suffix.isEmpty ? base : base + "-" + suffix
    }

    /// Uppercase ASCII letters and digits, anything else one dash, none at either end.
    static func part(_ text: String, max: Int) -> String {
        var out = ""
        var dash = false
        for scalar in text.unicodeScalars {
            if scalar.isASCII, let byte = UInt8(exactly: scalar.value),
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            {
                if dash && !out.isEmpty { out.append("-") }
                dash = false
                out.append(Character(Unicode.Scalar(byte >= 0x61 ? byte - 0x20 : byte)))
                if out.count >= max { break }
            } else {
                dash = true
            }
        }
        return out
    }
}

extension String {
    fileprivate func replacingDashes() -> String { String(filter { $0 != "-" }) }
}

/// The rules of options and variants (docs/API.md, "Variants").
public enum VariantRules {
    public static let optionsMax = 3
    public static let optionNameMax = 30
    public static let valuesRange = 1...30
    public static let valueMax = 50
    public static let variantsRange = 1...100

    /// The options and variants trimmed and checked; every broken rule is one problem naming its field by path.
    /// Each variant's `options` comes back keyed by the option names as given in `options`.
    public static func validated(options: [ProductOption], variants: [VariantSpec]) throws(DomainError) -> ([ProductOption], [VariantSpec])
    {
        var problems: [FieldProblem] = []
        var cleanOptions: [ProductOption] = []
        if options.count > optionsMax {
            problems.append(.init(field: "options", problem: "must have at most \(optionsMax) options"))
        }
        var seenNames: Set<String> = []
        for (i, option) in options.prefix(optionsMax).enumerated() {
            let name = option.name.trimmingWhitespace()
            if name.isEmpty || !Limits.fits(name, optionNameMax) {
                problems.append(.init(field: "options[\(i)].name", problem: "must be 1 to \(optionNameMax) characters"))
            } else if !seenNames.insert(name.lowercased()).inserted {
                problems.append(
                    .init(field: "options[\(i)].name", problem: "names another option of this product (names are compared without case)"))
            }
            if !(valuesRange ~= option.values.count) {
                problems.append(
                    .init(field: "options[\(i)].values", problem: "must have \(valuesRange.lowerBound) to \(valuesRange.upperBound) values")
                )
            }
            var values: [String] = []
            var seenValues: Set<String> = []
            for (j, raw) in option.values.prefix(valuesRange.upperBound).enumerated() {
                let value = raw.trimmingWhitespace()
                if value.isEmpty || !Limits.fits(value, valueMax) {
                    problems.append(.init(field: "options[\(i)].values[\(j)]", problem: "must be 1 to \(valueMax) characters"))
                } else if !seenValues.insert(value.lowercased()).inserted {
                    problems.append(.init(field: "options[\(i)].values[\(j)]", problem: "repeats another value of this option"))
                }
                values.append(value)
            }
            cleanOptions.append(ProductOption(name: name, values: values))
        }
        if !(variantsRange ~= variants.count) {
            problems.append(
                .init(field: "variants", problem: "must have \(variantsRange.lowerBound) to \(variantsRange.upperBound) variants"))
        }
        var cleanVariants: [VariantSpec] = []
        var combinations: [[String]: Int] = [:]
        var skus: [String: Int] = [:]
        var ids: [String: Int] = [:]
        for (i, variant) in variants.prefix(variantsRange.upperBound).enumerated() {
            var clean = variant
            if let id = variant.id {
                if id.isEmpty || id.utf8.count > Limits.idMaxBytes {
                    problems.append(.init(field: "variants[\(i)].id", problem: "must be the id of one of this product's variants"))
                } else if let first = ids.updateValue(i, forKey: id) {
                    problems.append(.init(field: "variants[\(i)].id", problem: "repeats variants[\(first)]"))
                }
            }
            if let sku = variant.sku {
                if !SKU.isValid(sku) {
                    problems.append(
                        .init(field: "variants[\(i)].sku", problem: "must be 1 to \(SKU.maxLength) characters of A-Z a-z 0-9 - _ ."))
                } else if let first = skus.updateValue(i, forKey: SKU.key(sku)) {
                    problems.append(
                        .init(field: "variants[\(i)].sku", problem: "repeats variants[\(first)]'s SKU (SKUs are compared without case)"))
                }
            }
            if !(Limits.priceRange ~= variant.price) {
                problems.append(
                    .init(
                        field: "variants[\(i)].price",
                        problem: "must be \(Limits.priceRange.lowerBound) to \(Limits.priceRange.upperBound) minor units"))
            }
            if let quantity = variant.quantity, !(Limits.stockRange ~= quantity) {
                problems.append(
                    .init(
                        field: "variants[\(i)].quantity",
                        problem: "must be \(Limits.stockRange.lowerBound) to \(Limits.stockRange.upperBound)"))
            }
            // Exactly one value of every option, by the option's (trimmed) name.
            var chosen: [String: String] = [:]
            var combination: [String] = []
            var fits = variant.options.count == cleanOptions.count
            for option in cleanOptions {
                guard
                    let raw = variant.options[option.name]
                        ?? variant.options.first(where: { $0.key.trimmingWhitespace() == option.name })?.value
                else {
                    fits = false
                    continue
                }
                let value = raw.trimmingWhitespace()
                guard option.values.contains(value) else {
                    fits = false
                    continue
                }
                chosen[option.name] = value
                combination.append(value)
            }
            if !fits {
                let names = cleanOptions.map(\.name)
                problems.append(
                    .init(
                        field: "variants[\(i)].options",
                        problem: names.isEmpty
                            ? "must be {} for a product without options"
                            : "must name exactly one value of each option: \(names.joined(separator: ", "))"))
            } else if let first = combinations.updateValue(i, forKey: combination) {
                problems.append(.init(field: "variants[\(i)].options", problem: "repeats variants[\(first)]'s combination"))
            }
            clean.options = chosen
            cleanVariants.append(clean)
        }
        guard problems.isEmpty else { throw .invalid(problems) }
        return (cleanOptions, cleanVariants)
    }
}
