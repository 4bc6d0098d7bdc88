import Foundation
import ShopDomain
import Testing

private func fields(
    name: String = "Coffee mug",
    description: String = "Holds coffee.",
    price: Int = 1_299,
    currency: String = "USD",
    category: String = "kitchen"
) -> ProductFields {
    ProductFields(name: name, description: description, price: price, currency: currency, category: category)
}

@Suite("ProductFields.validated()")
struct ProductFieldsTests {
    @Test("valid fields come back unchanged")
    func validUnchanged() throws {
        let input = fields()
        #expect(try input.validated() == input)
    }

    @Test("name, category and currency are trimmed; currency is uppercased")
    func trimsAndUppercases() throws {
        let input = fields(name: "  Coffee mug \n", currency: " usd\t", category: "\t kitchen  ")
        let output = try input.validated()
        #expect(output.name == "Coffee mug")
        #expect(output.category == "kitchen")
        #expect(output.currency == "USD")
        #expect(output.price == input.price)
        #expect(output.description == input.description)
    }

    @Test("inner whitespace is kept")
    func innerWhitespaceKept() throws {
        let output = try fields(name: " Big  red\tmug ", category: " home & kitchen ").validated()
        #expect(output.name == "Big  red\tmug")
        #expect(output.category == "home & kitchen")
    }

    @Test("validated() is idempotent")
    func idempotent() throws {
        let once = try fields(name: "  Mug ", currency: "eur", category: " cups ").validated()
        #expect(try once.validated() == once)
    }

    // MARK: name

    @Test("name of 1 and of 200 characters is accepted", arguments: [1, 2, 199, 200])
    func nameLengthAccepted(_ length: Int) throws {
        let name = repeated("n", length)
        #expect(try fields(name: name).validated().name == name)
    }

    @Test("name is counted after trimming")
    func nameCountedAfterTrimming() throws {
        let name = repeated("n", 200)
        #expect(try fields(name: "   " + name + "\n\n").validated().name == name)
    }

    @Test(
        "empty, blank or over-long names are refused",
        arguments: ["", " ", "\t\n  \r\n", repeated("n", 201), repeated("n", 1_000)])
    func nameRefused(_ name: String) {
        #expect(invalidFields { _ = try fields(name: name).validated() } == ["name"])
    }

    // MARK: description

    @Test("description may be empty or up to 5000 characters", arguments: [0, 1, 4_999, 5_000])
    func descriptionAccepted(_ length: Int) throws {
        let description = repeated("d", length)
        #expect(try fields(description: description).validated().description == description)
    }

    @Test("a description over 5000 characters is refused", arguments: [5_001, 10_000])
    func descriptionRefused(_ length: Int) {
        #expect(invalidFields { _ = try fields(description: repeated("d", length)).validated() } == ["description"])
    }

    // MARK: price

    @Test("price from 1 to 100 000 000 minor units is accepted", arguments: [1, 2, 1_299, 99_999_999, 100_000_000])
    func priceAccepted(_ price: Int) throws {
        #expect(try fields(price: price).validated().price == price)
    }

    @Test("price outside 1...100 000 000 is refused", arguments: [Int.min, -1, 0, 100_000_001, Int.max])
    func priceRefused(_ price: Int) {
        #expect(invalidFields { _ = try fields(price: price).validated() } == ["price"])
    }

    // MARK: currency

    @Test(
        "three ASCII letters are accepted and uppercased",
        arguments: [
            ("USD", "USD"), ("usd", "USD"), ("Eur", "EUR"), ("gBp", "GBP"), (" jpy ", "JPY"), ("\tCHF\n", "CHF"),
        ])
    func currencyAccepted(_ input: String, _ expected: String) throws {
        #expect(try fields(currency: input).validated().currency == expected)
    }

    @Test(
        "anything but three letters is refused",
        arguments: ["", "   ", "US", "u", "USDD", "usdx", "U5D", "123", "US D", "U-D", "$$$", "ÉUR", "€UR", "US\u{0}"])
    func currencyRefused(_ currency: String) {
        #expect(invalidFields { _ = try fields(currency: currency).validated() } == ["currency"])
    }

    @Test("Currency.isValid accepts only three ASCII capitals")
    func currencyIsValid() {
        #expect(Currency.isValid("USD"))
        #expect(Currency.isValid("AAA"))
        #expect(Currency.isValid("ZZZ"))
        #expect(!Currency.isValid("usd"))
        #expect(!Currency.isValid("Usd"))
        #expect(!Currency.isValid("US"))
        #expect(!Currency.isValid("USDX"))
        #expect(!Currency.isValid(" US"))
        #expect(!Currency.isValid("@[`"))  // neighbours of A-Z in ASCII
        #expect(!Currency.isValid("ÀÉÎ"))
    }

    // MARK: category

    @Test("category of 1 to 100 characters is accepted", arguments: [1, 2, 99, 100])
    func categoryAccepted(_ length: Int) throws {
        let category = repeated("c", length)
        #expect(try fields(category: category).validated().category == category)
        #expect(try fields(category: "  " + category + " ").validated().category == category)
    }

    @Test("empty, blank or over-long categories are refused", arguments: ["", "  ", "\n", repeated("c", 101)])
    func categoryRefused(_ category: String) {
        #expect(invalidFields { _ = try fields(category: category).validated() } == ["category"])
    }

    // MARK: several problems

    @Test("every problem is reported at once, in field order")
    func allProblemsAtOnce() {
        let input = fields(
            name: "  ", description: repeated("d", 5_001), price: 0, currency: "dollars", category: "")
        let error = #expect(throws: DomainError.self) { try input.validated() }
        let problems = fieldProblems(error) ?? []
        #expect(problems.map(\.field) == ["name", "description", "price", "currency", "category"])
        #expect(problems.allSatisfy { !$0.problem.isEmpty })
    }

    @Test("two problems are both reported and nothing else")
    func twoProblems() {
        let fieldsReported = invalidFields {
            _ = try fields(price: -5, currency: "us").validated()
        }
        #expect(fieldsReported == ["price", "currency"])
    }

    @Test("problem messages state the limits")
    func messagesStateLimits() {
        let error = #expect(throws: DomainError.self) {
            try fields(name: "", price: 0, category: repeated("c", 101)).validated()
        }
        let byField = Dictionary(uniqueKeysWithValues: (fieldProblems(error) ?? []).map { ($0.field, $0.problem) })
        #expect(byField["name"]?.contains("200") == true)
        #expect(byField["price"]?.contains("100000000") == true)
        #expect(byField["category"]?.contains("100") == true)
    }
}

@Suite("validateQuantity")
struct ValidateQuantityTests {
    @Test("stock from 0 to 1 000 000 is accepted", arguments: [0, 1, 500, 999_999, 1_000_000])
    func accepted(_ quantity: Int) throws {
        try validateQuantity(quantity)
    }

    @Test("stock outside 0...1 000 000 is refused", arguments: [Int.min, -1_000_000, -1, 1_000_001, Int.max])
    func refused(_ quantity: Int) {
        let error = #expect(throws: DomainError.self) { try validateQuantity(quantity) }
        let problems = fieldProblems(error)
        #expect(problems?.count == 1)
        #expect(problems?.first?.field == "quantity")
    }

    @Test("the reported field name can be chosen")
    func customField() {
        #expect(invalidFields { try validateQuantity(-1, field: "delta") } == ["delta"])
        #expect(invalidFields { try validateQuantity(1_000_001, field: "stock") } == ["stock"])
    }
}

@Suite("Product")
struct ProductTests {
    @Test("a new product from fields starts at version 1 with createdAt == updatedAt")
    func newProduct() throws {
        let validated = try fields(name: " Mug ", currency: "eur").validated()
        let product = Product(id: "p1", fields: validated, quantity: 7, at: referenceDate)
        #expect(product.id == "p1")
        #expect(product.name == "Mug")
        #expect(product.currency == "EUR")
        #expect(product.quantity == 7)
        #expect(product.version == 1)
        #expect(product.imageUrl == nil)
        #expect(product.createdAt == referenceDate)
        #expect(product.updatedAt == referenceDate)
        #expect(product.fields == validated)
    }
}
