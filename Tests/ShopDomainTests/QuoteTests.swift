import Foundation
import ShopDomain
import Testing

private typealias Line = (productId: String, name: String, unitPrice: Int, quantity: Int)

private func line(_ id: String, _ unitPrice: Int, _ quantity: Int = 1) -> Line {
    (productId: id, name: "Product \(id)", unitPrice: unitPrice, quantity: quantity)
}

private func line(_ unitPrice: Int, _ quantity: Int = 1) -> Line { line("p1", unitPrice, quantity) }

private func to(_ country: String, _ region: String? = nil, postalCode: String = "12345") -> Address {
    Address(name: "Ada", line1: "1 Main St", city: "Town", region: region, postalCode: postalCode, country: country)
}

private let usCA = to("US", "CA", postalCode: "95014")
private let usNY = to("US", "NY", postalCode: "10001")
private let usTX = to("US", "TX", postalCode: "73301")
private let gb = to("GB", postalCode: "SW1A 1AA")

private func method(_ id: String, _ price: Int, freeOver: Int? = nil) -> ShippingMethod {
    ShippingMethod(id: id, name: id, price: price, freeOver: freeOver, minDays: 1, maxDays: 3)
}

/// Settings with one zone covering `countries`, and the given rates.
private func settings(
    includeTax: Bool = false, countries: [String] = ["US", "GB"], methods: [ShippingMethod], rates: [TaxRate] = []
) -> StoreSettings {
    StoreSettings(
        currency: "EUR", pricesIncludeTax: includeTax,
        shippingZones: [ShippingZone(id: "z", name: "Zone", countries: countries, methods: methods)],
        taxRates: rates)
}

private func quote(_ lines: [Line], _ address: Address, method: String? = nil, _ s: StoreSettings = .builtInDefault) throws -> Quote {
    try Quote.make(lines: lines, address: address, methodId: method, settings: s)
}

@Suite("Quote")
struct QuoteTests {
    // MARK: rounding

    @Test(
        "roundedDivision rounds half away from zero",
        arguments: [
            (0, 5, 0), (1, 3, 0), (2, 3, 1), (5, 2, 3), (7, 2, 4), (4, 2, 2), (-5, 2, -3), (5, -2, -3), (-5, -2, 3),
            (-1, 3, 0), (-2, 3, -1), (-7, 2, -4), (14_5, 10, 15), (-14_5, 10, -15), (7_286_250, 100_000, 73),
            (1_450_000, 100_000, 15), (1_449_999, 100_000, 14),
        ])
    func roundedDivision(_ n: Int, _ d: Int, _ expected: Int) {
        #expect(Quote.roundedDivision(n, d) == expected)
    }

    @Test("roundedDivision at the edges of Int does not overflow")
    func roundedDivisionEdges() {
        #expect(Quote.roundedDivision(Int.max, 1) == Int.max)
        #expect(Quote.roundedDivision(Int.min, 1) == Int.min)
        // Int.max is odd: Int.max / 2 is k + 0.5, rounded up to 2^62.
        #expect(Quote.roundedDivision(Int.max, 2) == 1 << 62)
        #expect(Quote.roundedDivision(Int.min, 2) == -(1 << 62))
        #expect(Quote.roundedDivision(Int.min + 1, 2) == -(1 << 62))
        // The remainder's magnitude is Int.max here; doubling it must not trap.
        #expect(Quote.roundedDivision(Int.max, Int.min) == -1)
        #expect(Quote.roundedDivision(Int.max, Int.max) == 1)
        #expect(Quote.roundedDivision(Int.max / 2, Int.max) == 0)
        #expect(Quote.roundedDivision(Int.max / 2 + 1, Int.max) == 1)
    }

    @Test("roundedMultiplyDivide is exact even where the product overflows Int")
    func roundedMultiplyDivide() {
        #expect(Quote.roundedMultiplyDivide(1005, 7250, 100_000) == 73)
        #expect(Quote.roundedMultiplyDivide(-3, 100_000, 120_000) == -3)
        #expect(Quote.roundedMultiplyDivide(100_000_000_000, 100_000, 120_000) == 83_333_333_333)
        // Int.max × 2 does not fit in Int; the 128-bit product does.
        #expect(Quote.roundedMultiplyDivide(Int.max, 2, 4) == 1 << 62)
        #expect(Quote.roundedMultiplyDivide(Int.max, Int.max, Int.max) == Int.max)
        #expect(Quote.roundedMultiplyDivide(Int.max, -Int.max, Int.max) == -Int.max)
    }

    @Test("roundedDivision agrees with floor((2n + d) / 2d) on random values")
    func roundedDivisionReference() {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<10_000 {
            let n = Int.random(in: 0...100_000_000_000_000, using: &rng)
            let d = Int.random(in: 1...300_000, using: &rng)
            let reference = (2 * n + d) / (2 * d)
            #expect(Quote.roundedDivision(n, d) == reference)
            #expect(Quote.roundedDivision(-n, d) == -reference)
            #expect(Quote.roundedMultiplyDivide(n / 100_000, d, 100_000) == ((n / 100_000) * d * 2 + 100_000) / 200_000)
        }
    }

    @Test(
        "binary floating point would round these the other way; the quote does not",
        arguments: [
            // (lineTotal, rate, exact tax): lineTotal × rate / 100000 ends in exactly .5 (14.5, 217.5, 246.5),
            // but 0.0725 is not a binary fraction, so lineTotal × 0.0725 lands just below: 14.499999999999998.
            (200, 7250, 15), (3000, 7250, 218), (3400, 7250, 247),
        ])
    func floatingPointWouldFail(_ lineTotal: Int, _ rate: Int, _ exact: Int) throws {
        let viaDouble = (Double(lineTotal) * (Double(rate) / 100_000)).rounded()  // .toNearestOrAwayFromZero
        #expect(Int(viaDouble) == exact - 1)
        #expect(Quote.addedTax(on: lineTotal, rate: rate) == exact)
        let s = settings(methods: [method("m", 0)], rates: [TaxRate(country: "US", rate: rate, name: "T", appliesToShipping: false)])
        #expect(try quote([line(lineTotal)], usCA, s).lines[0].tax == exact)
    }

    @Test("200 at 7.25 % is 14.5: rounded away from zero to 15")
    func halfRoundsUp() throws {
        #expect(Double(200) * 0.0725 == 14.499999999999998)
        let q = try quote([line(200)], usCA)
        #expect(q.lines[0].tax == 15)
    }

    // MARK: prices without tax

    @Test("1005 at 7.25 % in California: 72.8625 → 73, no tax on shipping")
    func californiaExclusive() throws {
        let q = try quote([line(1005)], usCA)
        #expect(q.currency == "USD")
        #expect(q.lines == [QuoteLine(productId: "p1", name: "Product p1", unitPrice: 1005, quantity: 1, tax: 73)])
        #expect(q.subtotal == 1005)
        #expect(q.shippingMethodId == "standard")
        #expect(q.shippingTotal == 500)
        #expect(q.shippingTax == 0)
        #expect(q.taxTotal == 73)
        #expect(q.total == 1005 + 500 + 73)
    }

    @Test("each line is rounded separately")
    func linesRoundedSeparately() throws {
        // 200 × 7.25 % = 14.5 → 15 twice: 30, where the rounded sum (400 → 29) would be 29.
        let q = try quote([line("a", 200), line("b", 100, 2)], usCA)
        #expect(q.lines.map(\.lineTotal) == [200, 200])
        #expect(q.lines.map(\.tax) == [15, 15])
        #expect(q.taxTotal == 30)
        #expect(q.total == 400 + 500 + 30)
    }

    @Test("lineTotal is unitPrice × quantity and the subtotal their sum")
    func lineTotals() throws {
        let q = try quote([line("a", 333, 3), line("b", 1_250, 4), line("c", 1, 1_000)], usTX)
        #expect(q.lines.map(\.lineTotal) == [999, 5_000, 1_000])
        #expect(q.subtotal == 6_999)
    }

    @Test("New York taxes shipping: 1000 → 88.75 → 89, shipping 500 → 44.375 → 44")
    func newYorkTaxesShipping() throws {
        let q = try quote([line(1000)], usNY)
        #expect(q.lines[0].tax == 89)
        #expect(q.shippingTotal == 500)
        #expect(q.shippingTax == 44)
        #expect(q.taxTotal == 133)
        #expect(q.total == 1000 + 500 + 133)
    }

    @Test("no rate for the region or the country: no tax")
    func noRate() throws {
        let q = try quote([line(1234)], usTX)
        #expect(q.lines[0].tax == 0)
        #expect(q.shippingTax == 0)
        #expect(q.taxTotal == 0)
        #expect(q.total == 1234 + 500)
    }

    @Test("the country's rate applies to a region without its own; rates are found case-insensitively")
    func countryFallback() throws {
        // GB 20 % (on shipping), rest-of-world zone: 999 → 199.8 → 200; 2500 → 500.
        let q = try quote([line(999)], to("GB", "Scotland", postalCode: "EH1 1YZ"))
        #expect(q.shippingMethodId == "intl")
        #expect(q.lines[0].tax == 200)
        #expect(q.shippingTax == 500)
        #expect(q.total == 999 + 2500 + 700)
        let lower = try quote([line(1000)], to("US", "ny"))
        #expect(lower.lines[0].tax == 89)
    }

    @Test("shipping is taxed only when the rate applies to shipping")
    func shippingTaxOnlyWhenApplies() throws {
        let on = settings(methods: [method("m", 1000)], rates: [TaxRate(country: "US", rate: 10_000, name: "T", appliesToShipping: true)])
        let off = settings(methods: [method("m", 1000)], rates: [TaxRate(country: "US", rate: 10_000, name: "T", appliesToShipping: false)])
        #expect(try quote([line(100)], usTX, on).shippingTax == 100)
        #expect(try quote([line(100)], usTX, on).total == 100 + 1000 + 10 + 100)
        #expect(try quote([line(100)], usTX, off).shippingTax == 0)
        #expect(try quote([line(100)], usTX, off).total == 100 + 1000 + 10)
    }

    // MARK: prices with tax

    @Test("tax-inclusive: 1000 at 20 % holds 1000 − r(833.33…) = 167; total is subtotal + shipping")
    func inclusive() throws {
        var s = StoreSettings.builtInDefault
        s.pricesIncludeTax = true
        let q = try quote([line(1000)], gb, s)
        #expect(q.lines[0].tax == 167)
        // Shipping 2500 holds 2500 − r(2083.33…) = 417, as VAT applies to shipping.
        #expect(q.shippingTotal == 2500)
        #expect(q.shippingTax == 417)
        #expect(q.taxTotal == 167 + 417)
        #expect(q.total == 1000 + 2500)
    }

    @Test(
        "tax-inclusive: the net is rounded, the tax is what remains",
        arguments: [
            // lineTotal, rate, included tax. 3 at 20 %: net 2.5 → 3, tax 0 (rounding 0.5 of tax directly would give 1).
            (3, 20_000, 0), (9, 20_000, 1), (15, 20_000, 2), (1000, 20_000, 167), (1_199, 19_000, 191),
            (1000, 0, 0), (1000, 100_000, 500), (1, 100_000, 0), (0, 7250, 0),
        ])
    func inclusiveRule(_ lineTotal: Int, _ rate: Int, _ expected: Int) throws {
        #expect(Quote.includedTax(in: lineTotal, rate: rate) == expected)
        let s = settings(
            includeTax: true, methods: [method("m", 0)], rates: [TaxRate(country: "US", rate: rate, name: "T", appliesToShipping: true)])
        let q = try quote([line(lineTotal)], usTX, s)
        #expect(q.lines[0].tax == expected)
        #expect(q.total == lineTotal)
    }

    @Test("tax-inclusive without tax on shipping: shippingTax 0")
    func inclusiveNoShippingTax() throws {
        let s = settings(
            includeTax: true, methods: [method("m", 1200)],
            rates: [TaxRate(country: "US", rate: 20_000, name: "T", appliesToShipping: false)])
        let q = try quote([line(1200)], usTX, s)
        #expect(q.lines[0].tax == 200)
        #expect(q.shippingTax == 0)
        #expect(q.taxTotal == 200)
        #expect(q.total == 2400)
        let on = settings(
            includeTax: true, methods: [method("m", 1200)],
            rates: [TaxRate(country: "US", rate: 20_000, name: "T", appliesToShipping: true)])
        #expect(try quote([line(1200)], usTX, on).shippingTax == 200)
        #expect(try quote([line(1200)], usTX, on).total == 2400)
    }

    // MARK: shipping

    @Test("shipping is free at exactly freeOver, not one unit below")
    func freeOverBoundary() throws {
        let at = try quote([line(5000)], usTX)
        #expect(at.shippingMethodId == "standard")
        #expect(at.shippingTotal == 0)
        #expect(
            at.shippingMethods == [
                ShippingOption(id: "standard", name: "Standard", price: 0, minDays: 3, maxDays: 5),
                ShippingOption(id: "express", name: "Express", price: 1500, minDays: 1, maxDays: 2),
            ])
        #expect(at.total == 5000)
        let below = try quote([line(4999)], usTX)
        #expect(below.shippingTotal == 500)
        #expect(below.shippingMethods.map(\.price) == [500, 1500])
        let above = try quote([line(2500, 3)], usTX)
        #expect(above.shippingTotal == 0)
    }

    @Test("free shipping has no shipping tax even where shipping is taxed")
    func freeShippingNoTax() throws {
        let q = try quote([line(5000)], usNY)
        #expect(q.shippingTotal == 0)
        #expect(q.shippingTax == 0)
        #expect(q.lines[0].tax == 444)  // 443.75 → 444
        #expect(q.total == 5444)
    }

    @Test("without a method the cheapest effective price is chosen")
    func cheapestChosen() throws {
        let s = settings(methods: [method("slow", 900), method("cheap", 300), method("free-later", 700, freeOver: 1000)])
        #expect(try quote([line(999)], usTX, s).shippingMethodId == "cheap")
        #expect(try quote([line(999)], usTX, s).shippingTotal == 300)
        // From 1000 on, "free-later" costs 0 and wins.
        #expect(try quote([line(1000)], usTX, s).shippingMethodId == "free-later")
        #expect(try quote([line(1000)], usTX, s).shippingTotal == 0)
    }

    @Test("on a tie the first method in the zone's list wins")
    func tieBreak() throws {
        let s1 = settings(methods: [method("c", 800), method("a", 500), method("b", 500)])
        #expect(try quote([line(100)], usTX, s1).shippingMethodId == "a")
        let s2 = settings(methods: [method("b", 500), method("a", 500)])
        #expect(try quote([line(100)], usTX, s2).shippingMethodId == "b")
        // Two free methods: the first of them.
        let s3 = settings(methods: [method("x", 100, freeOver: 50), method("y", 0), method("z", 200, freeOver: 50)])
        #expect(try quote([line(100)], usTX, s3).shippingMethodId == "x")
    }

    @Test("a chosen method is used even when it is not the cheapest")
    func chosenMethod() throws {
        let q = try quote([line(1000)], usNY, method: "express")
        #expect(q.shippingMethodId == "express")
        #expect(q.shippingTotal == 1500)
        #expect(q.shippingTax == 133)  // 1500 × 8.875 % = 133.125
        #expect(q.total == 1000 + 1500 + 89 + 133)
        #expect(q.shippingMethods.map(\.id) == ["standard", "express"])
    }

    @Test("a method of another zone, or none at all, is unknown")
    func unknownMethod() {
        #expect(throws: QuoteError.unknownMethod("intl")) { try quote([line(100)], usCA, method: "intl") }
        #expect(throws: QuoteError.unknownMethod("nope")) { try quote([line(100)], gb, method: "nope") }
        #expect(throws: QuoteError.unknownMethod("standard")) { try quote([line(100)], gb, method: "standard") }
    }

    @Test("a country no zone covers cannot be shipped to")
    func uncoveredCountry() {
        let s = settings(countries: ["US"], methods: [method("m", 100)])
        #expect(throws: QuoteError.shippingUnavailable(country: "GB")) { try quote([line(100)], gb, s) }
        #expect(throws: QuoteError.shippingUnavailable(country: "FR")) { try quote([line(100)], to("FR"), method: "m", s) }
    }

    @Test("the * zone covers every other country")
    func starZoneCovers() throws {
        let q = try quote([line(100)], to("JP", postalCode: "100-0001"))
        #expect(q.shippingMethodId == "intl")
        #expect(q.shippingMethods.map(\.id) == ["intl"])
        #expect(q.taxTotal == 0)
    }

    // MARK: JSON

    @Test("JSON keys are exactly the contract's")
    func json() throws {
        let q = try quote([line(1005)], usCA)
        let object = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(q)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "currency", "lines", "subtotal", "shippingMethods", "shippingMethodId", "shippingTotal", "shippingTax", "taxTotal", "total",
            ])
        let firstLine = try #require((object["lines"] as? [[String: Any]])?.first)
        #expect(Set(firstLine.keys) == ["productId", "variantId", "sku", "options", "name", "unitPrice", "quantity", "lineTotal", "tax"])
        let option = try #require((object["shippingMethods"] as? [[String: Any]])?.first)
        #expect(Set(option.keys) == ["id", "name", "price", "minDays", "maxDays"])
        #expect(try JSONDecoder().decode(Quote.self, from: JSONEncoder().encode(q)) == q)
    }
}
