import Foundation
import ShopDomain
import Testing

@testable import ShopAPI

/// The catalog routes write their JSON by hand (`JSONBytes`); it must say what the API's `JSONEncoder`
/// says for the same values (JSONEncoder's key order varies from run to run, so the two are compared parsed),
/// whatever the text holds, and read back to exactly the text.
@Suite struct ProductJSONTests {
    static let texts = [
        "", "Espresso cup", "quote \" and backslash \\ and slash /", "tab\tnew line\nreturn\rback\u{08}feed\u{0C}",
        "control \u{01}\u{1F}\u{7F}", "naïve café, 東京, emoji 🫖, combining e\u{301}", "line\u{2028}para\u{2029}", "</script>",
    ]

    static func product(_ text: String, imageUrl: String?, millis: Int64) -> Product {
        Product(
            id: "0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b", name: text, description: text + text, price: 1_999, currency: "USD",
            quantity: 0, category: text, imageUrl: imageUrl, version: 12,
            createdAt: Date(unixMillis: millis), updatedAt: Date(unixMillis: millis + 86_400_123))
    }

    @Test(arguments: texts)
    func aProductIsWhatJSONEncoderWrites(_ text: String) throws {
        for (imageUrl, millis) in [
            (nil, Int64(0)), ("https://cdn.example/p/a.png?x=1&y=/", 1_795_637_462_123), (text, 253_402_300_799_999),
        ] {
            let product = Self.product(text, imageUrl: imageUrl, millis: millis)
            var json = JSONBytes(capacity: 16)
            json.product(product)
            let ours = try Self.parsed(json.bytes)
            #expect(ours == (try Self.parsed(Array(JSONCoding.encoder.encode(product)))), "\(String(decoding: json.bytes, as: UTF8.self))")
            #expect(ours["name"] as? String == text && ours["description"] as? String == text + text)
            #expect(String(decoding: json.bytes, as: UTF8.self).hasPrefix(#"{"id":"0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b","name":"#))
        }
    }

    @Test(arguments: texts)
    func anOrderIsWhatJSONEncoderWrites(_ text: String) throws {
        let address = Address(
            name: text, line1: text + "1", line2: nil, city: text, region: "CA", postalCode: "94105", country: "US", phone: text)
        let full = Order(
            id: "o-1", userId: text,
            lines: [
                OrderLine(productId: "p", name: text, unitPrice: 1999, quantity: 3, tax: 435),
                OrderLine(productId: "q", name: "", unitPrice: 1, quantity: 1),
            ],
            total: 6432, currency: "USD", status: .fulfilled, createdAt: Date(unixMillis: 1_795_637_462_123),
            updatedAt: Date(unixMillis: 1_795_637_462_999),
            expiresAt: Date(unixMillis: 253_402_300_799_999), shippingAddress: address,
            shippingMethod: OrderShippingMethod(id: "standard", name: text, price: 0, minDays: 3, maxDays: 5), subtotal: 5997,
            shippingTotal: 0,
            shippingTax: 0, taxTotal: 435,
            shipment: Shipment(
                carrier: text, trackingNumber: nil, trackingUrl: "https://t.example/?n=1&x=/", shippedAt: Date(unixMillis: 0)))
        let old = Order(
            id: "o-2", userId: "u", lines: [OrderLine(productId: "p", name: text, unitPrice: 5, quantity: 2)], total: 10, currency: "EUR",
            status: .pendingPayment, createdAt: Date(unixMillis: 0), updatedAt: Date(unixMillis: 1), expiresAt: Date(unixMillis: 2))
        for order in [full, old] {
            var json = JSONBytes(capacity: 16)
            json.order(order)
            #expect(
                try Self.parsed(json.bytes) == (try Self.parsed(Array(JSONCoding.encoder.encode(order)))),
                "\(String(decoding: json.bytes, as: UTF8.self))")
        }
    }

    @Test func aPageIsWhatJSONEncoderWrites() throws {
        for count in [0, 1, 3] {
            for cursor in [nil, "eyJrIjoiLyJ9.c2ln"] {
                let items = (0..<count).map { Self.product(Self.texts[$0 % Self.texts.count], imageUrl: nil, millis: Int64($0) * 1_001) }
                var json = JSONBytes(capacity: 16)
                json.page(items, nextCursor: cursor)
                let expected = try JSONCoding.encoder.encode(PageBody(items: items, nextCursor: cursor))
                #expect(try Self.parsed(json.bytes) == (try Self.parsed(Array(expected))))
            }
        }
    }

    static func parsed(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as? NSDictionary)
    }

    @Test func integersOfEverySize() {
        for value in [0, 7, -7, 10, 99, 100, 1_000_000, Int.max, Int.min] {
            var json = JSONBytes(capacity: 4)
            json.int(value)
            #expect(String(decoding: json.bytes, as: UTF8.self) == String(value))
        }
    }
}
