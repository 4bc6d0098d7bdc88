import Foundation
import ShopDomain
import Testing

private func method(
    _ id: String, price: Int = 500, freeOver: Int? = nil, minDays: Int = 1, maxDays: Int = 5, name: String = "Method"
) -> ShippingMethod {
    ShippingMethod(id: id, name: name, price: price, freeOver: freeOver, minDays: minDays, maxDays: maxDays)
}

private func zone(_ id: String, _ countries: [String], _ methods: [ShippingMethod], name: String = "Zone") -> ShippingZone {
    ShippingZone(id: id, name: name, countries: countries, methods: methods)
}

private func rate(_ country: String, _ region: String? = nil, _ rate: Int = 1000, name: String = "Tax", shipping: Bool = false) -> TaxRate {
    TaxRate(country: country, region: region, rate: rate, name: name, appliesToShipping: shipping)
}

private func settings(
    currency: String = "USD",
    zones: [ShippingZone] = [zone("us", ["US"], [method("standard")])],
    rates: [TaxRate] = []
) -> StoreSettings {
    StoreSettings(currency: currency, pricesIncludeTax: false, shippingZones: zones, taxRates: rates)
}

private func fieldsOf(_ s: StoreSettings, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
    invalidFields(sourceLocation: sourceLocation) { _ = try StoreSettings.validated(s) }
}

private func problemsOf(_ s: StoreSettings) -> [String: String] {
    do {
        _ = try s.validated()
        return [:]
    } catch {
        return Dictionary((fieldProblems(error) ?? []).map { ($0.field, $0.problem) }, uniquingKeysWith: { a, _ in a })
    }
}

@Suite("StoreSettings")
struct StoreSettingsTests {
    // MARK: built-in default

    @Test("the built-in default validates cleanly and unchanged")
    func builtInDefaultValid() throws {
        let d = StoreSettings.builtInDefault
        #expect(try StoreSettings.validated(d) == d)
        #expect(d.version == 0)
        #expect(d.updatedAt == nil)
        #expect(d.currency == "USD")
        #expect(d.pricesIncludeTax == false)
    }

    @Test("the built-in default has the documented zones and rates")
    func builtInDefaultContents() {
        let d = StoreSettings.builtInDefault
        #expect(
            d.shippingZones == [
                ShippingZone(
                    id: "us", name: "United States", countries: ["US"],
                    methods: [
                        ShippingMethod(id: "standard", name: "Standard", price: 500, freeOver: 5000, minDays: 3, maxDays: 5),
                        ShippingMethod(id: "express", name: "Express", price: 1500, freeOver: nil, minDays: 1, maxDays: 2),
                    ]),
                ShippingZone(
                    id: "world", name: "Rest of the world", countries: ["*"],
                    methods: [
                        ShippingMethod(id: "intl", name: "International", price: 2500, freeOver: nil, minDays: 7, maxDays: 14)
                    ]),
            ])
        #expect(
            d.taxRates == [
                TaxRate(country: "US", region: "CA", rate: 7250, name: "California sales tax", appliesToShipping: false),
                TaxRate(country: "US", region: "NY", rate: 8875, name: "New York sales tax", appliesToShipping: true),
                TaxRate(country: "GB", region: nil, rate: 20000, name: "VAT", appliesToShipping: true),
                TaxRate(country: "DE", region: nil, rate: 19000, name: "Mehrwertsteuer", appliesToShipping: true),
            ])
    }

    @Test("validated keeps version and updatedAt and trims names")
    func keepsVersionTrimsNames() throws {
        var s = settings(
            zones: [zone("us", ["US"], [method("standard", name: " Standard ")], name: "  US ")], rates: [rate("GB", name: " VAT\n")])
        s.version = 7
        s.updatedAt = referenceDate
        let v = try s.validated()
        #expect(v.version == 7)
        #expect(v.updatedAt == referenceDate)
        #expect(v.shippingZones[0].name == "US")
        #expect(v.shippingZones[0].methods[0].name == "Standard")
        #expect(v.taxRates[0].name == "VAT")
        #expect(try v.validated() == v)
    }

    // MARK: currency

    @Test("currency must be 3 upper-case ASCII letters", arguments: ["usd", "US", "USDD", "", "U5D", "ÉUR", " USD"])
    func currencyRefused(_ currency: String) {
        #expect(fieldsOf(settings(currency: currency)) == ["currency"])
    }

    @Test("currency accepted", arguments: ["USD", "EUR", "JPY"])
    func currencyAccepted(_ currency: String) throws {
        #expect(try settings(currency: currency).validated().currency == currency)
    }

    // MARK: ids and names

    @Test("ids of 1 to 64 characters of a-z 0-9 - _ are accepted", arguments: ["a", "us-east_2", "0", repeated("z", 64)])
    func idsAccepted(_ id: String) throws {
        _ = try settings(zones: [zone(id, ["US"], [method("m")])]).validated()
        _ = try settings(zones: [zone("z", ["US"], [method(id)])]).validated()
    }

    @Test("other ids are refused", arguments: ["", "US", "us east", "ü", "a.b", "a/b", repeated("z", 65), " us"])
    func idsRefused(_ id: String) {
        #expect(fieldsOf(settings(zones: [zone(id, ["US"], [method("m")])])) == ["shippingZones[0].id"])
        #expect(fieldsOf(settings(zones: [zone("z", ["US"], [method("ok"), method(id)])])) == ["shippingZones[0].methods[1].id"])
    }

    @Test("zone ids are unique")
    func duplicateZoneIds() {
        let s = settings(zones: [zone("a", ["US"], [method("m1")]), zone("b", ["CA"], [method("m2")]), zone("a", ["GB"], [method("m3")])])
        #expect(fieldsOf(s) == ["shippingZones[2].id"])
        #expect(problemsOf(s)["shippingZones[2].id"]?.contains("shippingZones[0]") == true)
    }

    @Test("method ids are unique across the whole document, not only within a zone")
    func duplicateMethodIds() {
        let across = settings(zones: [
            zone("a", ["US"], [method("standard"), method("express")]), zone("b", ["CA"], [method("fast"), method("standard")]),
        ])
        #expect(fieldsOf(across) == ["shippingZones[1].methods[1].id"])
        #expect(problemsOf(across)["shippingZones[1].methods[1].id"]?.contains("shippingZones[0].methods[0]") == true)
        let within = settings(zones: [zone("a", ["US"], [method("x"), method("x")])])
        #expect(fieldsOf(within) == ["shippingZones[0].methods[1].id"])
        // A zone and a method may share an id: they are different things.
        #expect(throws: Never.self) { try settings(zones: [zone("us", ["US"], [method("us")])]).validated() }
    }

    @Test("names are 1 to 100 characters, bytes included")
    func names() throws {
        _ = try settings(
            zones: [zone("a", ["US"], [method("m", name: repeated("😀", 100))], name: repeated("n", 100))],
            rates: [rate("US", name: repeated("t", 100))]
        ).validated()
        let s = settings(
            zones: [zone("a", ["US"], [method("m", name: "  ")], name: repeated("n", 101))],
            rates: [rate("US", name: repeated("👍🏽", 51))])
        #expect(fieldsOf(s) == ["shippingZones[0].name", "shippingZones[0].methods[0].name", "taxRates[0].name"])
    }

    // MARK: countries

    @Test("countries must be assigned upper-case codes or *", arguments: ["us", "XX", "UK", "", "USA", "**", " US"])
    func countryRefused(_ country: String) {
        #expect(fieldsOf(settings(zones: [zone("a", ["CA", country], [method("m")])])) == ["shippingZones[0].countries[1]"])
    }

    @Test("a zone needs at least one country and at least one method")
    func zoneNeedsCountryAndMethod() {
        #expect(fieldsOf(settings(zones: [zone("a", [], [method("m")])])) == ["shippingZones[0].countries"])
        #expect(fieldsOf(settings(zones: [zone("a", ["US"], [])])) == ["shippingZones[0].methods"])
    }

    @Test("a country may be in one zone only")
    func countryInOneZone() {
        let s = settings(zones: [zone("a", ["US", "CA"], [method("m1")]), zone("b", ["GB", "CA"], [method("m2")])])
        #expect(fieldsOf(s) == ["shippingZones[1].countries[1]"])
        #expect(problemsOf(s)["shippingZones[1].countries[1]"]?.contains("shippingZones[0].countries[1]") == true)
        #expect(fieldsOf(settings(zones: [zone("a", ["US", "US"], [method("m")])])) == ["shippingZones[0].countries[1]"])
    }

    @Test("one * zone is allowed, two are not")
    func starZone() throws {
        _ = try settings(zones: [zone("us", ["US"], [method("m1")]), zone("world", ["*"], [method("m2")])]).validated()
        _ = try settings(zones: [zone("world", ["*"], [method("m2")])]).validated()
        let two = settings(zones: [zone("w1", ["*"], [method("m1")]), zone("w2", ["*"], [method("m2")])])
        #expect(fieldsOf(two) == ["shippingZones[1].countries[0]"])
        #expect(fieldsOf(settings(zones: [zone("w1", ["*", "*"], [method("m1")])])) == ["shippingZones[0].countries[1]"])
    }

    // MARK: methods

    @Test("price and freeOver from 0 to 100 000 000")
    func prices() throws {
        _ = try settings(zones: [
            zone("a", ["US"], [method("m1", price: 0, freeOver: 0), method("m2", price: 100_000_000, freeOver: 100_000_000)])
        ]).validated()
        let s = settings(zones: [
            zone("a", ["US"], [method("m1", price: -1, freeOver: 100_000_001), method("m2", price: 100_000_001, freeOver: -5)])
        ])
        #expect(
            fieldsOf(s) == [
                "shippingZones[0].methods[0].price", "shippingZones[0].methods[0].freeOver",
                "shippingZones[0].methods[1].price", "shippingZones[0].methods[1].freeOver",
            ])
    }

    @Test("days from 0 to 365, minDays at most maxDays")
    func days() throws {
        _ = try settings(zones: [
            zone(
                "a", ["US"],
                [method("m1", minDays: 0, maxDays: 0), method("m2", minDays: 365, maxDays: 365), method("m3", minDays: 2, maxDays: 3)])
        ]).validated()
        #expect(
            fieldsOf(settings(zones: [zone("a", ["US"], [method("m", minDays: 5, maxDays: 3)])])) == ["shippingZones[0].methods[0].maxDays"]
        )
        #expect(
            fieldsOf(settings(zones: [zone("a", ["US"], [method("m", minDays: -1, maxDays: 366)])])) == [
                "shippingZones[0].methods[0].minDays", "shippingZones[0].methods[0].maxDays",
            ])
        #expect(
            fieldsOf(settings(zones: [zone("a", ["US"], [method("m", minDays: 400, maxDays: 3)])])) == [
                "shippingZones[0].methods[0].minDays"
            ])
    }

    // MARK: counts

    @Test("at most 50 zones")
    func zoneCount() throws {
        let codes = Countries.assigned.sorted()
        let fifty = (0..<50).map { zone("z\($0)", [codes[$0]], [method("m\($0)")]) }
        _ = try settings(zones: fifty).validated()
        let more = fifty + [zone("z50", [codes[50]], [method("m50")])]
        #expect(fieldsOf(settings(zones: more)) == ["shippingZones"])
    }

    @Test("1 to 20 methods a zone")
    func methodCount() throws {
        let twenty = (0..<20).map { method("m\($0)") }
        _ = try settings(zones: [zone("a", ["US"], twenty)]).validated()
        #expect(fieldsOf(settings(zones: [zone("a", ["US"], twenty + [method("m20")])])) == ["shippingZones[0].methods"])
    }

    @Test("at most 500 tax rates")
    func rateCount() throws {
        let codes = Countries.assigned.sorted()
        // 249 countries without a region, and 251 more with distinct free-text regions.
        let rates = codes.map { rate($0) } + (0..<251).map { rate("FR", "Région \($0)") }
        #expect(rates.count == 500)
        _ = try settings(rates: rates).validated()
        #expect(fieldsOf(settings(rates: rates + [rate("FR", "Région 251")])) == ["taxRates"])
        #expect(StoreSettings.maxJSONBytes == 65_536)
    }

    // MARK: tax rates

    @Test("rate from 0 to 100 000 thousandths of a percent")
    func rateRange() throws {
        _ = try settings(rates: [rate("US", nil, 0), rate("GB", nil, 100_000)]).validated()
        #expect(fieldsOf(settings(rates: [rate("US", nil, -1), rate("GB", nil, 100_001)])) == ["taxRates[0].rate", "taxRates[1].rate"])
    }

    @Test("tax country must be an assigned upper-case code")
    func rateCountry() {
        #expect(
            fieldsOf(settings(rates: [rate("GB"), rate("gb"), rate("XX"), rate("*")])) == [
                "taxRates[1].country", "taxRates[2].country", "taxRates[3].country",
            ])
    }

    @Test("US, CA and AU regions must be subdivision codes; lower case accepted and stored upper-case")
    func subdivisionRegions() throws {
        let v = try settings(rates: [rate("US", "ca"), rate("CA", "On"), rate("AU", "nsw"), rate("US", " ny ")]).validated()
        #expect(v.taxRates.map(\.region) == ["CA", "ON", "NSW", "NY"])
        #expect(
            fieldsOf(settings(rates: [rate("US", "California"), rate("CA", "NY"), rate("AU", "ON"), rate("US", "")])) == [
                "taxRates[0].region", "taxRates[1].region", "taxRates[2].region", "taxRates[3].region",
            ])
    }

    @Test("elsewhere the region is 1 to 50 characters of free text")
    func freeTextRegion() throws {
        let v = try settings(rates: [rate("ES", " Canarias "), rate("FR", repeated("r", 50))]).validated()
        #expect(v.taxRates[0].region == "Canarias")
        #expect(
            fieldsOf(settings(rates: [rate("ES", ""), rate("FR", repeated("r", 51)), rate("DE", repeated("👍🏽", 26))])) == [
                "taxRates[0].region", "taxRates[1].region", "taxRates[2].region",
            ])
    }

    @Test("at most one rate per (country, region), regions compared case-insensitively")
    func duplicateRates() throws {
        _ = try settings(rates: [rate("US"), rate("US", "CA"), rate("CA"), rate("CA", "ON"), rate("ES", "Canarias")]).validated()
        #expect(fieldsOf(settings(rates: [rate("US", "CA"), rate("US", "ca")])) == ["taxRates[1].region"])
        #expect(fieldsOf(settings(rates: [rate("GB"), rate("DE"), rate("GB")])) == ["taxRates[2].region"])
        #expect(fieldsOf(settings(rates: [rate("ES", "Canarias"), rate("ES", "CANARIAS ")])) == ["taxRates[1].region"])
        #expect(problemsOf(settings(rates: [rate("US", "CA"), rate("US", "ca")]))["taxRates[1].region"]?.contains("taxRates[0]") == true)
    }

    @Test("every problem at once, in document order")
    func manyProblems() {
        let s = settings(
            currency: "usd",
            zones: [
                zone("A", ["US", "XX"], [method("m", price: -1)]),
                zone("b", ["US"], [method("m", minDays: 9, maxDays: 1)]),
            ],
            rates: [rate("US", "ZZ", 200_000)])
        #expect(
            fieldsOf(s) == [
                "currency",
                "shippingZones[0].id", "shippingZones[0].countries[1]", "shippingZones[0].methods[0].price",
                "shippingZones[1].countries[0]", "shippingZones[1].methods[0].id", "shippingZones[1].methods[0].maxDays",
                "taxRates[0].region", "taxRates[0].rate",
            ])
    }

    // MARK: look-ups

    @Test("zone(for:) finds the naming zone, else the * zone, else nil")
    func zoneLookup() {
        let d = StoreSettings.builtInDefault
        #expect(d.zone(for: "US")?.id == "us")
        #expect(d.zone(for: "us")?.id == "us")
        #expect(d.zone(for: "GB")?.id == "world")
        let noStar = settings(zones: [zone("a", ["US"], [method("m")])])
        #expect(noStar.zone(for: "US")?.id == "a")
        #expect(noStar.zone(for: "GB") == nil)
        // A named country wins over the * zone even when the * zone comes first.
        let starFirst = settings(zones: [zone("w", ["*"], [method("m1")]), zone("gb", ["GB"], [method("m2")])])
        #expect(starFirst.zone(for: "GB")?.id == "gb")
        #expect(starFirst.zone(for: "FR")?.id == "w")
    }

    @Test("taxRate(country:region:) prefers the region's rate, then the country's, else nil")
    func taxRateLookup() {
        let s = settings(rates: [rate("US", nil, 100), rate("US", "CA", 7250), rate("ES", "Canarias", 700), rate("ES", nil, 21000)])
        #expect(s.taxRate(country: "US", region: "CA")?.rate == 7250)
        #expect(s.taxRate(country: "US", region: "ca")?.rate == 7250)
        #expect(s.taxRate(country: "us", region: "Ca")?.rate == 7250)
        #expect(s.taxRate(country: "US", region: "NY")?.rate == 100)
        #expect(s.taxRate(country: "US", region: nil)?.rate == 100)
        #expect(s.taxRate(country: "ES", region: "canarias")?.rate == 700)
        #expect(s.taxRate(country: "ES", region: "Madrid")?.rate == 21000)
        #expect(s.taxRate(country: "FR", region: nil) == nil)
        let d = StoreSettings.builtInDefault
        #expect(d.taxRate(country: "US", region: "TX") == nil)
        #expect(d.taxRate(country: "US", region: "NY")?.name == "New York sales tax")
        #expect(d.taxRate(country: "GB", region: "Scotland")?.rate == 20000)
    }

    // MARK: JSON

    @Test("decodes the documented JSON")
    func decodesContract() throws {
        let json = #"""
            {"currency": "USD", "pricesIncludeTax": false,
             "shippingZones": [{"id": "us", "name": "United States", "countries": ["US"],
               "methods": [{"id": "standard", "name": "Standard", "price": 500, "freeOver": 5000, "minDays": 3, "maxDays": 5}]}],
             "taxRates": [{"country": "US", "region": "CA", "rate": 7250, "name": "California sales tax", "appliesToShipping": false}],
             "version": 3, "updatedAt": "2026-12-06T10:00:00.000Z"}
            """#
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { d in
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let text = try d.singleValueContainer().decode(String.self)
            return formatter.date(from: text) ?? .distantPast
        }
        let s = try decoder.decode(StoreSettings.self, from: Data(json.utf8))
        #expect(s.version == 3)
        #expect(s.updatedAt == Date(timeIntervalSince1970: 1_796_551_200))
        #expect(
            s.shippingZones[0].methods[0]
                == ShippingMethod(id: "standard", name: "Standard", price: 500, freeOver: 5000, minDays: 3, maxDays: 5))
        #expect(s.taxRates[0] == TaxRate(country: "US", region: "CA", rate: 7250, name: "California sales tax", appliesToShipping: false))
        #expect(try s.validated() == s)
    }

    @Test("encodes every key, absent optionals as null, and round-trips")
    func encodes() throws {
        let data = try JSONEncoder().encode(StoreSettings.builtInDefault)
        let object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["currency", "pricesIncludeTax", "shippingZones", "taxRates", "version", "updatedAt"])
        #expect(object["updatedAt"] is NSNull)
        let zones = try #require(object["shippingZones"] as? [[String: Any]])
        let express = try #require((zones[0]["methods"] as? [[String: Any]])?[1])
        #expect(Set(express.keys) == ["id", "name", "price", "freeOver", "minDays", "maxDays"])
        #expect(express["freeOver"] is NSNull)
        let gb = try #require((object["taxRates"] as? [[String: Any]])?[2])
        #expect(Set(gb.keys) == ["country", "region", "rate", "name", "appliesToShipping"])
        #expect(gb["region"] is NSNull)
        #expect(try JSONDecoder().decode(StoreSettings.self, from: data) == StoreSettings.builtInDefault)
    }
}
