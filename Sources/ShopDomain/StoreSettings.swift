#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The store's settings document: currency, whether prices include tax, shipping zones and tax rates.
///
/// Amounts are integers in minor units of `currency`; tax rates are in thousandths of a percent
/// (7250 = 7.25 %, 100000 = 100 %). `version` and `updatedAt` belong to the stored document; everything else
/// is the editable part, checked by `validated(_:)`. Dates are left to the encoder the API layer configures.
public struct StoreSettings: Sendable, Codable, Equatable {
    public var currency: String
    public var pricesIncludeTax: Bool
    public var shippingZones: [ShippingZone]
    public var taxRates: [TaxRate]
    public var version: Int
    /// nil for `builtInDefault`, which was never saved.
    public var updatedAt: Date?

    public init(
        currency: String, pricesIncludeTax: Bool, shippingZones: [ShippingZone], taxRates: [TaxRate],
        version: Int = 0, updatedAt: Date? = nil
    ) {
        self.currency = currency
        self.pricesIncludeTax = pricesIncludeTax
        self.shippingZones = shippingZones
        self.taxRates = taxRates
        self.version = version
        self.updatedAt = updatedAt
    }

    /// Encodes every field, `updatedAt` as `null` when there is none.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(currency, forKey: .currency)
        try c.encode(pricesIncludeTax, forKey: .pricesIncludeTax)
        try c.encode(shippingZones, forKey: .shippingZones)
        try c.encode(taxRates, forKey: .taxRates)
        try c.encode(version, forKey: .version)
        try c.encode(updatedAt, forKey: .updatedAt)
    }

    // MARK: Limits

    /// The largest settings document the API accepts, in bytes of JSON (checked by the API layer).
    public static let maxJSONBytes = 65_536
    public static let maxZones = 50
    public static let maxMethodsPerZone = 20
    public static let maxTaxRates = 500
    /// Zone and method ids: 1 to 64 characters of `a-z 0-9 - _`.
    public static let idMax = 64
    /// Zone, method and tax rate names: 1 to 100 characters (shown at checkout; 100 is a long line already).
    public static let nameMax = 100
    /// Free-text tax regions (countries other than US, CA and AU), as for `Address.region`.
    public static let regionMax = 50
    public static let priceRange = 0...100_000_000
    public static let daysRange = 0...365
    /// Thousandths of a percent: 0 % to 100 %.
    public static let rateRange = 0...100_000
    /// The country "code" of the zone that covers every country no other zone names.
    public static let everyOtherCountry = "*"

    // MARK: Built-in default

    /// What a store has before its settings were ever saved (version 0, no `updatedAt`).
    public static let builtInDefault = StoreSettings(
        currency: "USD",
        pricesIncludeTax: false,
        shippingZones: [
            ShippingZone(
                id: "us", name: "United States", countries: ["US"],
                methods: [
                    ShippingMethod(id: "standard", name: "Standard", price: 500, freeOver: 5000, minDays: 3, maxDays: 5),
                    ShippingMethod(id: "express", name: "Express", price: 1500, minDays: 1, maxDays: 2),
                ]),
            ShippingZone(
                id: "world", name: "Rest of the world", countries: ["*"],
                methods: [
                    ShippingMethod(id: "intl", name: "International", price: 2500, minDays: 7, maxDays: 14)
                ]),
        ],
        taxRates: [
            TaxRate(country: "US", region: "CA", rate: 7250, name: "California sales tax", appliesToShipping: false),
            TaxRate(country: "US", region: "NY", rate: 8875, name: "New York sales tax", appliesToShipping: true),
            TaxRate(country: "GB", rate: 20000, name: "VAT", appliesToShipping: true),
            TaxRate(country: "DE", rate: 19000, name: "Mehrwertsteuer", appliesToShipping: true),
        ],
        version: 0, updatedAt: nil)

    // MARK: Look-ups

    /// The zone that names `country`, else the `"*"` zone, else nil.
    public func zone(for country: String) -> ShippingZone? {
        let country = country.asciiUppercased()
        return shippingZones.first { $0.countries.contains(country) }
            ?? shippingZones.first { $0.countries.contains(Self.everyOtherCountry) }
    }

    /// The rate for (`country`, `region`), the region compared case-insensitively; else the country's rate
    /// without a region; else nil.
    public func taxRate(country: String, region: String?) -> TaxRate? {
        let country = country.asciiUppercased()
        if let region = region.map(Self.regionKey) {
            if let rate = taxRates.first(where: { $0.country.asciiUppercased() == country && $0.region.map(Self.regionKey) == region }) {
                return rate
            }
        }
        return taxRates.first { $0.country.asciiUppercased() == country && $0.region == nil }
    }

    /// How regions compare: trimmed, case-insensitively (Unicode case folding of the standard library, no ICU).
    static func regionKey(_ region: String) -> String { region.trimmingWhitespace().lowercased() }

    // MARK: Validation

    /// These settings checked; see `validated(_:)`.
    public func validated() throws(DomainError) -> StoreSettings { try Self.validated(self) }

    /// Checks the editable part of `raw` (everything but `version` and `updatedAt`, which are returned
    /// unchanged) and returns it normalised: names trimmed, tax regions trimmed and, for US, CA and AU,
    /// upper-cased. Throws `DomainError.invalid` with one problem per broken rule, each named by its path
    /// (`currency`, `shippingZones[0].methods[1].price`, `taxRates[2].region`), in document order.
    ///
    /// Codes and ids are not case-folded: `currency` must be 3 upper-case letters, countries upper-case
    /// alpha-2 codes (or `"*"`), ids lower-case.
    public static func validated(_ raw: StoreSettings) throws(DomainError) -> StoreSettings {
        var problems: [FieldProblem] = []
        func report(_ field: String, _ problem: String) { problems.append(FieldProblem(field: field, problem: problem)) }

        if !Currency.isValid(raw.currency) {
            report("currency", "must be a 3-letter upper-case ISO 4217 code such as USD")
        }

        // Shipping zones.
        if raw.shippingZones.count > maxZones {
            report("shippingZones", "must have at most \(maxZones) zones")
        }
        var zoneIds: [String: Int] = [:]
        var methodIds: [String: String] = [:]  // id -> path of its first use
        var countryZones: [String: String] = [:]  // country -> path of its first use
        var everyOtherZone: Int?
        var zones: [ShippingZone] = []
        for (z, zone) in raw.shippingZones.enumerated() {
            let zonePath = "shippingZones[\(z)]"
            if !isValidId(zone.id) {
                report("\(zonePath).id", "must be 1 to \(idMax) characters of a-z, 0-9, - and _")
            } else if let first = zoneIds[zone.id] {
                report("\(zonePath).id", "is already used by shippingZones[\(first)]")
            } else {
                zoneIds[zone.id] = z
            }
            let name = zone.name.trimmingWhitespace()
            if !isValidName(name) {
                report("\(zonePath).name", "must be 1 to \(nameMax) characters")
            }

            if zone.countries.isEmpty {
                report("\(zonePath).countries", "must name at least 1 country, or * for every other country")
            }
            for (c, country) in zone.countries.enumerated() {
                let path = "\(zonePath).countries[\(c)]"
                if country == everyOtherCountry {
                    if let first = everyOtherZone {
                        report(
                            path,
                            first == z
                                ? "appears more than once in this zone" : "only one zone may use *; shippingZones[\(first)] already does")
                    } else {
                        everyOtherZone = z
                    }
                } else if !Countries.isAssigned(country) {
                    report(path, "must be an upper-case 2-letter country code such as US, or *")
                } else if let first = countryZones[country] {
                    report(path, "\(country) is already in \(first); a country may be in one zone only")
                } else {
                    countryZones[country] = path
                }
            }

            if !(1...maxMethodsPerZone ~= zone.methods.count) {
                report("\(zonePath).methods", "must have 1 to \(maxMethodsPerZone) shipping methods")
            }
            var methods: [ShippingMethod] = []
            for (m, method) in zone.methods.enumerated() {
                let methodPath = "\(zonePath).methods[\(m)]"
                if !isValidId(method.id) {
                    report("\(methodPath).id", "must be 1 to \(idMax) characters of a-z, 0-9, - and _")
                } else if let first = methodIds[method.id] {
                    report("\(methodPath).id", "is already used by \(first); method ids must be unique across all zones")
                } else {
                    methodIds[method.id] = methodPath
                }
                let name = method.name.trimmingWhitespace()
                if !isValidName(name) {
                    report("\(methodPath).name", "must be 1 to \(nameMax) characters")
                }
                if !(priceRange ~= method.price) {
                    report("\(methodPath).price", "must be \(priceRange.lowerBound) to \(priceRange.upperBound) minor units")
                }
                if let freeOver = method.freeOver, !(priceRange ~= freeOver) {
                    report("\(methodPath).freeOver", "must be \(priceRange.lowerBound) to \(priceRange.upperBound) minor units, or null")
                }
                let minOK = daysRange ~= method.minDays
                let maxOK = daysRange ~= method.maxDays
                if !minOK {
                    report("\(methodPath).minDays", "must be \(daysRange.lowerBound) to \(daysRange.upperBound) days")
                }
                if !maxOK {
                    report("\(methodPath).maxDays", "must be \(daysRange.lowerBound) to \(daysRange.upperBound) days")
                } else if minOK && method.minDays > method.maxDays {
                    report("\(methodPath).maxDays", "must be at least minDays (\(method.minDays))")
                }
                var normalised = method
                normalised.name = name
                methods.append(normalised)
            }
            zones.append(ShippingZone(id: zone.id, name: name, countries: zone.countries, methods: methods))
        }

        // Tax rates.
        if raw.taxRates.count > maxTaxRates {
            report("taxRates", "must have at most \(maxTaxRates) rates")
        }
        struct RateKey: Hashable {
            var country: String
            var region: String?
        }
        var rateKeys: [RateKey: Int] = [:]
        var rates: [TaxRate] = []
        for (t, rate) in raw.taxRates.enumerated() {
            let path = "taxRates[\(t)]"
            let countryOK = Countries.isAssigned(rate.country)
            if !countryOK {
                report("\(path).country", "must be an upper-case 2-letter country code such as US")
            }
            var region = rate.region?.trimmingWhitespace()
            var regionOK = true
            if let text = region {
                if countryOK, let codes = Countries.subdivisions(of: rate.country) {
                    let code = text.asciiUppercased()
                    if codes.contains(code) {
                        region = code
                    } else {
                        regionOK = false
                        report("\(path).region", Countries.subdivisionProblem(of: rate.country) + ", or null for the whole country")
                    }
                } else if text.isEmpty || !Limits.fits(text, regionMax) {
                    regionOK = false
                    report("\(path).region", "must be 1 to \(regionMax) characters, or null for the whole country")
                }
            }
            if !(rateRange ~= rate.rate) {
                report(
                    "\(path).rate", "must be \(rateRange.lowerBound) to \(rateRange.upperBound) (thousandths of a percent: 7250 is 7.25 %)")
            }
            let name = rate.name.trimmingWhitespace()
            if !isValidName(name) {
                report("\(path).name", "must be 1 to \(nameMax) characters")
            }
            // A region already reported as invalid is not also reported as a duplicate.
            let key = RateKey(country: rate.country, region: region.map(regionKey))
            if regionOK {
                if let first = rateKeys[key] {
                    let what = region.map { "\(rate.country)/\($0)" } ?? "\(rate.country) without a region"
                    report("\(path).region", "taxRates[\(first)] already has a rate for \(what)")
                } else {
                    rateKeys[key] = t
                }
            }
            rates.append(
                TaxRate(country: rate.country, region: region, rate: rate.rate, name: name, appliesToShipping: rate.appliesToShipping))
        }

        guard problems.isEmpty else { throw .invalid(problems) }
        return StoreSettings(
            currency: raw.currency, pricesIncludeTax: raw.pricesIncludeTax, shippingZones: zones, taxRates: rates,
            version: raw.version, updatedAt: raw.updatedAt)
    }

    /// 1 to `idMax` characters of `a-z 0-9 - _`.
    static func isValidId(_ id: String) -> Bool {
        (1...idMax) ~= id.utf8.count
            && id.utf8.allSatisfy { $0.isASCIILower || $0.isASCIIDigit || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    /// 1 to `nameMax` characters (and 4 bytes each), already trimmed.
    static func isValidName(_ name: String) -> Bool { !name.isEmpty && Limits.fits(name, nameMax) }
}

/// A set of countries shipped to with the same methods.
public struct ShippingZone: Sendable, Codable, Equatable, Hashable {
    public var id: String
    public var name: String
    /// Upper-case ISO 3166-1 alpha-2 codes, or `"*"` for every country no other zone names.
    public var countries: [String]
    public var methods: [ShippingMethod]

    public init(id: String, name: String, countries: [String], methods: [ShippingMethod]) {
        self.id = id
        self.name = name
        self.countries = countries
        self.methods = methods
    }
}

/// One way to ship, with its price in minor units and delivery time in days.
public struct ShippingMethod: Sendable, Codable, Equatable, Hashable {
    public var id: String
    public var name: String
    public var price: Int
    /// Shipping is free when the subtotal is at least this much; nil: never free.
    public var freeOver: Int?
    public var minDays: Int
    public var maxDays: Int

    public init(id: String, name: String, price: Int, freeOver: Int? = nil, minDays: Int, maxDays: Int) {
        self.id = id
        self.name = name
        self.price = price
        self.freeOver = freeOver
        self.minDays = minDays
        self.maxDays = maxDays
    }

    /// Encodes every field, `freeOver` as `null` when there is none.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(price, forKey: .price)
        try c.encode(freeOver, forKey: .freeOver)
        try c.encode(minDays, forKey: .minDays)
        try c.encode(maxDays, forKey: .maxDays)
    }

    /// What this method costs for an order of `subtotal`: `price`, or 0 from `freeOver` on.
    public func effectivePrice(forSubtotal subtotal: Int) -> Int {
        if let freeOver, subtotal >= freeOver { return 0 }
        return price
    }
}

/// A tax rate for a country, or for one region of it.
public struct TaxRate: Sendable, Codable, Equatable, Hashable {
    /// Upper-case ISO 3166-1 alpha-2 code.
    public var country: String
    /// nil: the whole country (the fallback for its regions without their own rate). For US, CA and AU an
    /// ISO 3166-2 subdivision code without the country prefix; elsewhere free text matched against
    /// `Address.region` case-insensitively.
    public var region: String?
    /// Thousandths of a percent: 7250 is 7.25 %, 100000 is 100 %.
    public var rate: Int
    public var name: String
    public var appliesToShipping: Bool

    public init(country: String, region: String? = nil, rate: Int, name: String, appliesToShipping: Bool) {
        self.country = country
        self.region = region
        self.rate = rate
        self.name = name
        self.appliesToShipping = appliesToShipping
    }

    /// Encodes every field, `region` as `null` when there is none.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(country, forKey: .country)
        try c.encode(region, forKey: .region)
        try c.encode(rate, forKey: .rate)
        try c.encode(name, forKey: .name)
        try c.encode(appliesToShipping, forKey: .appliesToShipping)
    }
}
