import Foundation
import ShopDomain
import Testing

private func address(
    name: String = "Ada Lovelace",
    line1: String = "1 Infinite Loop",
    line2: String? = nil,
    city: String = "Cupertino",
    region: String? = "CA",
    postalCode: String = "95014",
    country: String = "US",
    phone: String? = nil
) -> Address {
    Address(
        name: name, line1: line1, line2: line2, city: city, region: region, postalCode: postalCode,
        country: country, phone: phone)
}

/// A valid address in `country` (with its region and postal code), other fields as given.
private func address(in country: String, region: String?, postalCode: String) -> Address {
    address(region: region, postalCode: postalCode, country: country)
}

/// The problems of validating `raw` at `path`, as field -> problem.
private func problems(_ raw: Address, path: String = "") -> [String: String] {
    do {
        _ = try Address.validated(raw, path: path)
        return [:]
    } catch {
        return Dictionary((fieldProblems(error) ?? []).map { ($0.field, $0.problem) }, uniquingKeysWith: { a, _ in a })
    }
}

@Suite("Address.validated(_:path:)")
struct AddressTests {
    @Test("a valid address comes back unchanged")
    func validUnchanged() throws {
        let input = address(line2: "Building 2", phone: "+1 (408) 996-1010")
        #expect(try Address.validated(input, path: "shippingAddress") == input)
        #expect(try input.validated() == input)
    }

    @Test("every field is trimmed; blank optional fields become nil")
    func trimsAndNils() throws {
        let output = try Address.validated(
            address(
                name: "  Ada  Lovelace \n", line1: "\t1 Infinite Loop ", line2: "   ", city: " Cupertino ",
                region: " ca ", postalCode: " 95014 ", country: " us ", phone: " \t "),
            path: "")
        #expect(output == address(name: "Ada  Lovelace", line2: nil, phone: nil))
    }

    @Test("an empty optional field becomes nil; a blank free-text region too")
    func emptyOptionals() throws {
        let output = try Address.validated(
            address(line2: "", region: "  ", postalCode: "75001", country: "FR", phone: ""), path: "")
        #expect(output.line2 == nil)
        #expect(output.region == nil)
        #expect(output.phone == nil)
    }

    @Test("validated is idempotent")
    func idempotent() throws {
        let once = try Address.validated(
            address(region: "on", postalCode: "k1a0b1", country: "ca", phone: " +1 613 555 0100 "), path: "x")
        #expect(try Address.validated(once, path: "x") == once)
    }

    // MARK: paths

    @Test("problems are named by path, or by the bare field when the path is empty")
    func paths() {
        let raw = address(postalCode: "ABC")
        #expect(invalidFields { _ = try Address.validated(raw, path: "shippingAddress") } == ["shippingAddress.postalCode"])
        #expect(invalidFields { _ = try Address.validated(raw, path: "") } == ["postalCode"])
        #expect(invalidFields { _ = try Address.validated(raw, path: "billing.address") } == ["billing.address.postalCode"])
    }

    @Test("one problem per failing field, every one at once, in field order")
    func allAtOnce() {
        let raw = Address(
            name: "", line1: " ", line2: repeated("l", 201), city: "", region: "Narnia", postalCode: "1",
            country: "us", phone: "call me")
        let fields = invalidFields { _ = try Address.validated(raw, path: "a") }
        #expect(fields == ["a.name", "a.line1", "a.line2", "a.city", "a.region", "a.postalCode", "a.phone"])
    }

    @Test("problems say what is wrong in words")
    func messages() {
        let us = problems(address(region: "California", postalCode: "9501"))
        #expect(us["region"] == "must be a state code such as CA or NY")
        #expect(us["postalCode"] == "must be a 5-digit ZIP code, optionally with -1234")
        let other = problems(address(name: "", country: "XX"))
        #expect(other["name"]?.contains("100") == true)
        #expect(other["country"]?.contains("US") == true)
    }

    // MARK: lengths (characters and bytes)

    @Test("name 1 to 100 characters")
    func nameLength() throws {
        #expect(try address(name: "A").validated().name == "A")
        #expect(try address(name: repeated("n", 100)).validated().name == repeated("n", 100))
        #expect(invalidFields { _ = try address(name: repeated("n", 101)).validated() } == ["name"])
        #expect(invalidFields { _ = try address(name: "").validated() } == ["name"])
        #expect(invalidFields { _ = try address(name: " \n\t ").validated() } == ["name"])
    }

    @Test("line1 1 to 200, line2 up to 200, city 1 to 100 characters")
    func lineAndCityLengths() throws {
        #expect(try address(line1: repeated("l", 200), line2: repeated("m", 200), city: repeated("c", 100)).validated().line1.count == 200)
        #expect(invalidFields { _ = try address(line1: repeated("l", 201)).validated() } == ["line1"])
        #expect(invalidFields { _ = try address(line1: "").validated() } == ["line1"])
        #expect(invalidFields { _ = try address(line2: repeated("l", 201)).validated() } == ["line2"])
        #expect(invalidFields { _ = try address(city: repeated("c", 101)).validated() } == ["city"])
        #expect(invalidFields { _ = try address(city: "  ").validated() } == ["city"])
    }

    @Test("4-byte characters fill a limit exactly; longer characters break it in bytes")
    func byteLimits() throws {
        // U+1F600 is one character of 4 UTF-8 bytes: 100 of them are 400 bytes, the most a 100-character name may hold.
        let fourByte = repeated("😀", 100)
        #expect(fourByte.utf8.count == 400)
        #expect(try address(name: fourByte).validated().name == fourByte)
        // A thumbs-up with a skin tone is one character of 8 bytes: 100 characters, but 800 bytes.
        let eightByte = repeated("👍🏽", 100)
        #expect(eightByte.count == 100)
        #expect(invalidFields { _ = try address(name: eightByte).validated() } == ["name"])
        // 51 such characters are 408 bytes > 400 although only 51 characters.
        #expect(invalidFields { _ = try address(name: repeated("👍🏽", 51)).validated() } == ["name"])
        #expect(try address(name: repeated("👍🏽", 50)).validated().name.count == 50)
        // The same in line1 (200 → 800 bytes), city (100 → 400 bytes) and a free-text region (50 → 200 bytes).
        #expect(try address(line1: repeated("😀", 200)).validated().line1.utf8.count == 800)
        #expect(invalidFields { _ = try address(line1: repeated("👍🏽", 101)).validated() } == ["line1"])
        #expect(invalidFields { _ = try address(line2: repeated("👍🏽", 101)).validated() } == ["line2"])
        #expect(invalidFields { _ = try address(city: repeated("👍🏽", 51)).validated() } == ["city"])
        #expect(try address(in: "FR", region: repeated("😀", 50), postalCode: "75001").validated().region?.count == 50)
        #expect(invalidFields { _ = try address(in: "FR", region: repeated("👍🏽", 26), postalCode: "75001").validated() } == ["region"])
    }

    // MARK: phone

    @Test(
        "phone of digits, spaces, + ( ) - up to 30 characters",
        arguments: ["+1 (408) 996-1010", "0", "+44 20 7946 0958", repeated("9", 30)])
    func phoneAccepted(_ phone: String) throws {
        #expect(try address(phone: phone).validated().phone == phone)
    }

    @Test(
        "other phone characters or more than 30 are refused",
        arguments: ["call me", "+1.408.996", "555-CALL", "１２３", repeated("9", 31), "+1 408 x12", "+1\t408"])
    func phoneRefused(_ phone: String) {
        #expect(invalidFields { _ = try address(phone: phone).validated() } == ["phone"])
    }

    // MARK: country

    @Test(
        "country codes are upper-cased (ASCII) and must be assigned", arguments: [("us", "US"), ("Us", "US"), (" gb ", "GB"), ("de", "DE")])
    func countryAccepted(_ input: String, _ expected: String) throws {
        let postal = ["US": "95014", "GB": "SW1A 1AA", "DE": "10115"][expected]!
        let output = try address(region: expected == "US" ? "CA" : nil, postalCode: postal, country: input).validated()
        #expect(output.country == expected)
    }

    @Test(
        "unassigned, reserved or malformed country codes are refused",
        arguments: ["", "XX", "UK", "EU", "ZZ", "USA", "U", "1A", "ÜS", "U S"])
    func countryRefused(_ country: String) {
        #expect(invalidFields { _ = try address(region: nil, postalCode: "12345", country: country).validated() } == ["country"])
    }

    @Test("the country list holds the 249 assigned codes")
    func countryList() {
        #expect(Countries.assigned.count == 249)
        #expect(Countries.assigned.allSatisfy { $0.utf8.count == 2 && $0.utf8.allSatisfy { (65...90).contains($0) } })
        for code in ["US", "CA", "AU", "GB", "DE", "FR", "AQ", "BV", "SS", "SX", "CW", "BQ", "AX", "ZW"] {
            #expect(Countries.isAssigned(code))
        }
        // XK (Kosovo) is user-assigned, UK and EU are reserved, not assigned.
        for code in ["XK", "UK", "EU", "AN", "YU", "us", ""] {
            #expect(!Countries.isAssigned(code))
        }
    }

    // MARK: region

    @Test(
        "US, CA and AU need a region from their list; it is stored upper-case",
        arguments: [
            ("US", "ca", "95014", "CA"), ("US", "Ny", "10001", "NY"), ("US", "dc", "20001", "DC"), ("US", "pr", "00901", "PR"),
            ("US", "UM", "96898", "UM"), ("CA", "qc", "H2X 1Y4", "QC"), ("CA", "YT", "Y1A 1A1", "YT"),
            ("AU", "nsw", "2000", "NSW"), ("AU", "Act", "2600", "ACT"), ("AU", "nt", "0800", "NT"),
        ])
    func regionAccepted(_ country: String, _ region: String, _ postal: String, _ expected: String) throws {
        #expect(try address(in: country, region: region, postalCode: postal).validated().region == expected)
    }

    @Test(
        "US, CA and AU refuse a missing or unknown region",
        arguments: [
            ("US", nil), ("US", ""), ("US", "  "), ("US", "California"), ("US", "US-CA"), ("US", "ON"), ("US", "XX"),
            ("CA", nil), ("CA", "Ontario"), ("CA", "NY"), ("CA", "PQ"),
            ("AU", nil), ("AU", "NY"), ("AU", "N S W"), ("AU", "QL"),
        ] as [(String, String?)])
    func regionRefused(_ country: String, _ region: String?) {
        let postal = ["US": "95014", "CA": "K1A 0B1", "AU": "2000"][country]!
        #expect(invalidFields { _ = try address(in: country, region: region, postalCode: postal).validated() } == ["region"])
    }

    @Test("region messages name each country's kind of code")
    func regionMessages() {
        #expect(
            problems(address(in: "CA", region: nil, postalCode: "K1A 0B1"))["region"]
                == "must be a province or territory code such as ON or QC")
        #expect(
            problems(address(in: "AU", region: "Sydney", postalCode: "2000"))["region"]
                == "must be a state or territory code such as NSW or VIC")
    }

    @Test("elsewhere the region is optional free text of up to 50 characters, kept as typed")
    func freeTextRegion() throws {
        #expect(try address(in: "GB", region: nil, postalCode: "M1 1AE").validated().region == nil)
        #expect(try address(in: "GB", region: " Greater Manchester ", postalCode: "M1 1AE").validated().region == "Greater Manchester")
        #expect(try address(in: "AU", region: " nsw\t", postalCode: "2000").validated().region == "NSW")
        #expect(try address(in: "DE", region: "bayern", postalCode: "80331").validated().region == "bayern")
        #expect(try address(in: "JP", region: repeated("r", 50), postalCode: "100-0001").validated().region == repeated("r", 50))
        #expect(invalidFields { _ = try address(in: "JP", region: repeated("r", 51), postalCode: "100-0001").validated() } == ["region"])
    }

    @Test("subdivision lists")
    func subdivisionLists() {
        #expect(Countries.subdivisions(of: "US")?.count == 57)
        #expect(Countries.subdivisions(of: "CA")?.count == 13)
        #expect(Countries.subdivisions(of: "AU") == ["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"])
        #expect(Countries.subdivisions(of: "GB") == nil)
        #expect(Countries.subdivisions(of: "us") == nil)
        for code in ["DC", "AS", "GU", "MP", "PR", "UM", "VI", "AK", "HI", "WY"] {
            #expect(Countries.subdivisions(of: "US")?.contains(code) == true)
        }
    }

    // MARK: postal codes

    @Test("US ZIP codes: 5 digits, optionally -4", arguments: ["95014", "00501", "95014-2083", " 95014 "])
    func usZipAccepted(_ zip: String) throws {
        #expect(try address(postalCode: zip).validated().postalCode == zip.trimmingCharacters(in: .whitespaces))
    }

    @Test(
        "other US ZIP codes are refused",
        arguments: ["9501", "950140", "95014-", "95014-208", "95014 2083", "95014-20833", "9501A", "ABCDE", "", "95 014", "９５０１４"])
    func usZipRefused(_ zip: String) {
        #expect(invalidFields { _ = try address(postalCode: zip).validated() } == ["postalCode"])
    }

    @Test(
        "CA postal codes are upper-cased and stored A1A 1A1",
        arguments: [
            ("K1A 0B1", "K1A 0B1"), ("k1a0b1", "K1A 0B1"), ("k1a 0b1", "K1A 0B1"), (" H2X1Y4 ", "H2X 1Y4"),
        ])
    func caPostalAccepted(_ input: String, _ expected: String) throws {
        #expect(try address(in: "CA", region: "ON", postalCode: input).validated().postalCode == expected)
    }

    @Test(
        "malformed CA postal codes are refused",
        arguments: ["K1A  0B1", "K1A-0B1", "K1A0B", "11A 0B1", "KAA 0B1", "K1A 0BB", "K1 A0B1", "K1A 0B1 X", "12345"])
    func caPostalRefused(_ postal: String) {
        #expect(invalidFields { _ = try address(in: "CA", region: "ON", postalCode: postal).validated() } == ["postalCode"])
    }

    @Test(
        "GB postcodes are upper-cased with one space before the last three characters",
        arguments: [
            ("SW1A 1AA", "SW1A 1AA"), ("sw1a1aa", "SW1A 1AA"), ("M1 1AE", "M1 1AE"), ("m11ae", "M1 1AE"),
            ("B33 8TH", "B33 8TH"), ("CR2 6XH", "CR2 6XH"), ("DN55 1PT", "DN55 1PT"), ("W1A0AX", "W1A 0AX"),
            ("ec1a 1bb", "EC1A 1BB"),
        ])
    func gbPostcodeAccepted(_ input: String, _ expected: String) throws {
        #expect(try address(in: "GB", region: nil, postalCode: input).validated().postalCode == expected)
    }

    @Test(
        "malformed GB postcodes are refused",
        arguments: [
            "SW1A  1AA", "SW1 A1AA", "SW1A-1AA", "1A 1AA", "SWW1 1AA", "SW1A 1A", "SW1A 11A", "SW 1AA", "SW1AB 1AA", "M1", "", "12345",
        ])
    func gbPostcodeRefused(_ postal: String) {
        #expect(invalidFields { _ = try address(in: "GB", region: nil, postalCode: postal).validated() } == ["postalCode"])
    }

    @Test("DE and FR postal codes are 5 digits", arguments: ["DE", "FR"])
    func deFrPostal(_ country: String) throws {
        #expect(try address(in: country, region: nil, postalCode: " 01067 ").validated().postalCode == "01067")
        for bad in ["1234", "123456", "D-10115", "10 115", "ABCDE"] {
            #expect(invalidFields { _ = try address(in: country, region: nil, postalCode: bad).validated() } == ["postalCode"])
        }
    }

    @Test(
        "elsewhere 1 to 12 letters, digits, spaces and hyphens; upper-cased, runs of spaces made one",
        arguments: [
            ("NL", "1012  ab", "1012 AB"), ("JP", "100-0001", "100-0001"), ("IE", "d02 x285", "D02 X285"),
            ("BR", "01310-100", "01310-100"), ("SG", "018956", "018956"), ("NZ", "A", "A"), ("CH", "123456789012", "123456789012"),
            ("PL", "00   -  950", "00 - 950"),
        ])
    func otherPostalAccepted(_ country: String, _ input: String, _ expected: String) throws {
        #expect(try address(in: country, region: nil, postalCode: input).validated().postalCode == expected)
    }

    @Test(
        "elsewhere other characters, empty or more than 12 are refused",
        arguments: ["", "   ", "1234567890123", "12_34", "12.345", "ÅB 123", "12\t34", "#1"])
    func otherPostalRefused(_ postal: String) {
        #expect(invalidFields { _ = try address(in: "NL", region: nil, postalCode: postal).validated() } == ["postalCode"])
    }

    @Test("an unknown country reports the country, and checks region and postal code by the general rules")
    func unknownCountry() {
        #expect(invalidFields { _ = try address(region: nil, postalCode: "SW1A 1AA", country: "XX").validated() } == ["country"])
        #expect(
            invalidFields { _ = try address(region: nil, postalCode: "SW1A_1AA", country: "XX").validated() } == ["postalCode", "country"])
    }

    // MARK: JSON

    @Test("JSON keys are the field names; absent optionals are null")
    func json() throws {
        let data = try JSONEncoder().encode(address())
        let object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["name", "line1", "line2", "city", "region", "postalCode", "country", "phone"])
        #expect(object["line2"] is NSNull)
        #expect(object["postalCode"] as? String == "95014")
        let decoded = try JSONDecoder().decode(
            Address.self, from: Data(#"{"name":"A","line1":"B","city":"C","postalCode":"D","country":"NL"}"#.utf8))
        #expect(decoded == Address(name: "A", line1: "B", city: "C", postalCode: "D", country: "NL"))
        #expect(try JSONDecoder().decode(Address.self, from: data) == address())
    }
}
