#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A shipping address. `validated(_:path:)` trims, checks and normalises one received from a client.
///
/// `country` is an ISO 3166-1 alpha-2 code; `region` is, for US, CA and AU, the ISO 3166-2 subdivision code
/// without the country prefix (`CA`, `ON`, `NSW`), and free text elsewhere.
public struct Address: Sendable, Codable, Equatable, Hashable {
    public var name: String
    public var line1: String
    public var line2: String?
    public var city: String
    public var region: String?
    public var postalCode: String
    public var country: String
    public var phone: String?

    public init(
        name: String, line1: String, line2: String? = nil, city: String, region: String? = nil,
        postalCode: String, country: String, phone: String? = nil
    ) {
        self.name = name
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.region = region
        self.postalCode = postalCode
        self.country = country
        self.phone = phone
    }

    /// Encodes every field, the optional ones as `null` when absent (as `Product` does for `imageUrl`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(line1, forKey: .line1)
        try c.encode(line2, forKey: .line2)
        try c.encode(city, forKey: .city)
        try c.encode(region, forKey: .region)
        try c.encode(postalCode, forKey: .postalCode)
        try c.encode(country, forKey: .country)
        try c.encode(phone, forKey: .phone)
    }

    // Limits, in characters; each also holds in bytes at 4 per character (`Limits.fits`).
    public static let nameMax = 100
    public static let line1Max = 200
    public static let line2Max = 200
    public static let cityMax = 100
    /// Free-text regions (countries other than US, CA and AU).
    public static let regionMax = 50
    public static let phoneMax = 30
    /// Postal codes of countries without a specific pattern.
    public static let postalCodeMax = 12

    /// This address checked and normalised; see `validated(_:path:)`.
    public func validated(path: String = "") throws(DomainError) -> Address {
        try Self.validated(self, path: path)
    }

    /// Returns `raw` trimmed, checked and normalised, or throws `DomainError.invalid` with one problem per
    /// failing field, each named `path.field` (just `field` when `path` is empty).
    ///
    /// Normalisation: every field is trimmed and an optional one that is then empty becomes nil; `country`
    /// is upper-cased (ASCII); a US/CA/AU `region` is upper-cased; `postalCode` is upper-cased, CA codes are
    /// stored `A1A 1A1`, GB postcodes with one space before the last three characters, and other countries'
    /// codes with runs of spaces made one.
    public static func validated(_ raw: Address, path: String) throws(DomainError) -> Address {
        func field(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
        var problems: [FieldProblem] = []
        func check(_ ok: Bool, _ name: String, _ problem: @autoclosure () -> String) {
            if !ok { problems.append(FieldProblem(field: field(name), problem: problem())) }
        }

        let name = raw.name.trimmingWhitespace()
        let line1 = raw.line1.trimmingWhitespace()
        let line2 = raw.line2?.trimmingWhitespace().nilIfEmpty
        let city = raw.city.trimmingWhitespace()
        let regionText = raw.region?.trimmingWhitespace().nilIfEmpty
        let country = raw.country.trimmingWhitespace().asciiUppercased()
        let phone = raw.phone?.trimmingWhitespace().nilIfEmpty
        let countryIsValid = Countries.isAssigned(country)

        check(!name.isEmpty && Limits.fits(name, nameMax), "name", "must be 1 to \(nameMax) characters")
        check(!line1.isEmpty && Limits.fits(line1, line1Max), "line1", "must be 1 to \(line1Max) characters")
        check(line2.map { Limits.fits($0, line2Max) } ?? true, "line2", "must be at most \(line2Max) characters")
        check(!city.isEmpty && Limits.fits(city, cityMax), "city", "must be 1 to \(cityMax) characters")

        // Region: a subdivision code where we know the list, free text elsewhere (also when the country is
        // not valid: its own problem is reported on `country`).
        var region = regionText
        if countryIsValid, let codes = Countries.subdivisions(of: country) {
            let code = regionText?.asciiUppercased()
            check(code.map { codes.contains($0) } ?? false, "region", Countries.subdivisionProblem(of: country))
            region = code
        } else {
            check(regionText.map { Limits.fits($0, regionMax) } ?? true, "region", "must be at most \(regionMax) characters")
        }

        let postal = PostalCode.normalised(raw.postalCode, country: countryIsValid ? country : "")
        check(postal.code != nil, "postalCode", postal.problem)

        check(countryIsValid, "country", "must be a 2-letter country code such as US or GB")
        check(
            phone.map { PhoneNumber.isValid($0) } ?? true, "phone",
            "must be at most \(phoneMax) characters of digits, spaces, +, (, ) and -")

        guard problems.isEmpty else { throw .invalid(problems) }
        return Address(
            name: name, line1: line1, line2: line2, city: city, region: region,
            postalCode: postal.code ?? "", country: country, phone: phone)
    }
}

// MARK: - Phone

enum PhoneNumber {
    /// Up to `Address.phoneMax` characters of `+ 0-9 space ( ) -`.
    static func isValid(_ phone: String) -> Bool {
        Limits.fits(phone, Address.phoneMax)
            && phone.utf8.allSatisfy {
                $0.isASCIIDigit || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "(") || $0 == UInt8(ascii: ")")
                    || $0 == UInt8(ascii: "-")
            }
    }
}

// MARK: - Postal codes

/// Hand-written matchers for the postal code patterns (no `Regex`, no ICU).
enum PostalCode {
    /// The normalised code for `country` (an upper-case alpha-2 code, or "" for an unknown country), or nil
    /// and what a shopper should type instead.
    static func normalised(_ raw: String, country: String) -> (code: String?, problem: String) {
        let text = raw.trimmingWhitespace().asciiUppercased()
        let bytes = Array(text.utf8)
        switch country {
        case "US":
            // ^[0-9]{5}(-[0-9]{4})?$
            let ok =
                (bytes.count == 5 || bytes.count == 10)
                && bytes[0..<5].allSatisfy(\.isASCIIDigit)
                && (bytes.count == 5 || (bytes[5] == UInt8(ascii: "-") && bytes[6...].allSatisfy(\.isASCIIDigit)))
            return (ok ? text : nil, "must be a 5-digit ZIP code, optionally with -1234")
        case "CA":
            // ^[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]$, stored "A1A 1A1"
            var compact = bytes
            if compact.count == 7, compact[3] == UInt8(ascii: " ") { compact.remove(at: 3) }
            let ok =
                compact.count == 6
                && compact[0].isASCIIUpper && compact[1].isASCIIDigit && compact[2].isASCIIUpper
                && compact[3].isASCIIDigit && compact[4].isASCIIUpper && compact[5].isASCIIDigit
            return (ok ? spaced(compact, beforeLast: 3) : nil, "must be a postal code such as K1A 0B1")
        case "GB":
            // ^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$, stored with one space before the last three characters
            var compact = bytes
            if compact.count >= 4, compact[compact.count - 4] == UInt8(ascii: " ") { compact.remove(at: compact.count - 4) }
            return (isGBPostcode(compact) ? spaced(compact, beforeLast: 3) : nil, "must be a postcode such as SW1A 1AA")
        case "DE", "FR":
            // ^[0-9]{5}$
            let ok = bytes.count == 5 && bytes.allSatisfy(\.isASCIIDigit)
            return (ok ? text : nil, "must be a 5-digit postal code")
        default:
            // 1 to 12 of A-Z, 0-9, space and "-"; runs of spaces made one.
            var out: [UInt8] = []
            for b in bytes where !(b == UInt8(ascii: " ") && out.last == UInt8(ascii: " ")) { out.append(b) }
            let ok =
                (1...Address.postalCodeMax) ~= out.count
                && out.allSatisfy { $0.isASCIIUpper || $0.isASCIIDigit || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "-") }
            return (
                ok ? String(decoding: out, as: UTF8.self) : nil, "must be 1 to \(Address.postalCodeMax) letters, digits, spaces or hyphens"
            )
        }
    }

    /// `[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}` (the GB pattern without its optional space). Letters and digits
    /// are disjoint, so counting the leading letters decides the outward code without backtracking.
    private static func isGBPostcode(_ b: [UInt8]) -> Bool {
        guard (5...7) ~= b.count else { return false }
        let inward = b[(b.count - 3)...]
        guard inward[inward.startIndex].isASCIIDigit, inward.dropFirst().allSatisfy(\.isASCIIUpper) else { return false }
        let outward = b[..<(b.count - 3)]
        let letters = outward.prefix(while: \.isASCIIUpper).count
        guard (1...2) ~= letters else { return false }
        let rest = outward.dropFirst(letters)
        guard let digit = rest.first, digit.isASCIIDigit else { return false }
        let tail = rest.dropFirst()
        return tail.count == 0 || (tail.count == 1 && (tail.first!.isASCIIUpper || tail.first!.isASCIIDigit))
    }

    private static func spaced(_ b: [UInt8], beforeLast n: Int) -> String {
        String(decoding: b[..<(b.count - n)], as: UTF8.self) + " " + String(decoding: b[(b.count - n)...], as: UTF8.self)
    }
}

// MARK: - Countries

/// ISO 3166-1 alpha-2 country codes and, for US, CA and AU, ISO 3166-2 subdivision codes.
public enum Countries {
    /// The 249 officially assigned ISO 3166-1 alpha-2 codes.
    public static let assigned: Set<String> = [
        "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
        "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
        "BT", "BV", "BW", "BY", "BZ",
        "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW",
        "CX", "CY", "CZ",
        "DE", "DJ", "DK", "DM", "DO", "DZ",
        "EC", "EE", "EG", "EH", "ER", "ES", "ET",
        "FI", "FJ", "FK", "FM", "FO", "FR",
        "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT",
        "GU", "GW", "GY",
        "HK", "HM", "HN", "HR", "HT", "HU",
        "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT",
        "JE", "JM", "JO", "JP",
        "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ",
        "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
        "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
        "MT", "MU", "MV", "MW", "MX", "MY", "MZ",
        "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
        "OM",
        "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY",
        "QA",
        "RE", "RO", "RS", "RU", "RW",
        "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
        "ST", "SV", "SX", "SY", "SZ",
        "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ",
        "UA", "UG", "UM", "US", "UY", "UZ",
        "VA", "VC", "VE", "VG", "VI", "VN", "VU",
        "WF", "WS",
        "YE", "YT",
        "ZA", "ZM", "ZW",
    ]

    /// US: the 50 states, DC, and the outlying areas AS, GU, MP, PR, UM, VI (ISO 3166-2:US).
    public static let usSubdivisions: Set<String> = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
        "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
        "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
        "WI", "WY",
        "DC",
        "AS", "GU", "MP", "PR", "UM", "VI",
    ]

    /// CA: the 10 provinces and 3 territories (ISO 3166-2:CA).
    public static let caSubdivisions: Set<String> = [
        "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
    ]

    /// AU: the 6 states and 2 mainland territories (ISO 3166-2:AU).
    public static let auSubdivisions: Set<String> = ["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"]

    /// Whether `code` is an assigned alpha-2 code. Exact: upper case only, no trimming.
    public static func isAssigned(_ code: String) -> Bool { assigned.contains(code) }

    /// The subdivision codes (upper case, without the `US-` prefix) a region must be one of, for the countries
    /// where the region is required and checked (US, CA, AU); nil for every other country.
    public static func subdivisions(of country: String) -> Set<String>? {
        switch country {
        case "US": usSubdivisions
        case "CA": caSubdivisions
        case "AU": auSubdivisions
        default: nil
        }
    }

    /// What a region of `country` (one with `subdivisions(of:)`) must be, in a shopper's words.
    static func subdivisionProblem(of country: String) -> String {
        switch country {
        case "US": "must be a state code such as CA or NY"
        case "CA": "must be a province or territory code such as ON or QC"
        case "AU": "must be a state or territory code such as NSW or VIC"
        default: "must be a region code"
        }
    }
}

// MARK: - Helpers

extension UInt8 {
    var isASCIIDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    var isASCIIUpper: Bool { self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") }
    var isASCIILower: Bool { self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z") }
}

extension String {
    /// Upper-cases ASCII letters only (`"ß".uppercased()` would be `"SS"`, which must not become a code).
    func asciiUppercased() -> String {
        String(decoding: utf8.map { $0.isASCIILower ? $0 - 32 : $0 }, as: UTF8.self)
    }

    var nilIfEmpty: String? { isEmpty ? nil : self }
}
