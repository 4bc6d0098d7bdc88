import Foundation
import ShopDomain
import Testing

@testable import SQLiteStore

/// The in-place reader of the variants' option columns agrees with `JSONDecoder` on what the store writes, and
/// declines (so that `JSONDecoder` reads it) whatever it does not expect.
@Suite struct OptionColumnsTests {
    func variant(_ text: String) -> [String: String]? {
        Array(text.utf8).withUnsafeBufferPointer { OptionColumns.variantOptions($0) }
    }

    func product(_ text: String) -> [ProductOption]? {
        Array(text.utf8).withUnsafeBufferPointer { OptionColumns.productOptions($0) }
    }

    @Test func readsWhatTheStoreWrites() throws {
        let options = [
            ProductOption(name: "Size", values: ["S", "M", "L"]), ProductOption(name: "Colour", values: ["Navy", "Crème brûlée", "日本"]),
        ]
        let encoded = String(decoding: try documentEncoder.encode(options), as: UTF8.self)
        #expect(product(encoded) == options)
        let chosen = ["Size": "M", "Colour": "Crème brûlée"]
        let encodedChoice = String(decoding: try documentEncoder.encode(chosen), as: UTF8.self)
        #expect(variant(encodedChoice) == chosen)
    }

    @Test func readsEmptyAndSpacedDocuments() {
        #expect(variant("{}") == [:])
        #expect(product("[]") == [])
        #expect(variant(" { \"a\" : \"b\" ,\n\"c\":\"\" } ") == ["a": "b", "c": ""])
        #expect(product(" [ {\"values\": [ ], \"name\":\"Grind\"} ] ") == [ProductOption(name: "Grind", values: [])])
    }

    @Test func declinesWhatItDoesNotExpect() {
        // Escapes, other keys and shapes, duplicates, trailing bytes, truncation: JSONDecoder's to read (or refuse).
        for text in [
            #"{"a":"b\"c"}"#, #"{"a":"1\/2"}"#, #"{"a":1}"#, #"{"a":"b","a":"c"}"#, #"{"a":"b"} x"#, #"{"a":"b""#, "", "[]",
            "{\"a\":\"\u{01}\"}",
        ] {
            #expect(variant(text) == nil, "\(text)")
        }
        for text in [
            #"[{"name":"Size"}]"#, #"[{"name":"Size","values":["S"],"extra":1}]"#, #"[{"name":"S\u00e9","values":[]}]"#,
            #"[{"name":"Size","values":["S"]},]"#, #"{}"#, #"[{"name":"Size","name":"Fit","values":[]}]"#,
        ] {
            #expect(product(text) == nil, "\(text)")
        }
    }

    @Test func theStoreStillReadsEscapedOptionsThroughJSONDecoder() async throws {
        // A value with a quote (and, by default, a slash) is written escaped: the reader declines it, JSONDecoder reads it.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("options-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let options = [ProductOption(name: "Pack", values: ["1/2 lb", "1 lb \"big\""])]
        let variants = options[0].values.enumerated().map { index, value in
            ProductVariant(id: "v\(index)", sku: "PACK-\(index)", options: ["Pack": value], price: 500 + index, quantity: 3)
        }
        let product = Product(
            id: "p1", name: "Beans", description: "", currency: "EUR", category: "coffee", imageUrl: nil, version: 1, createdAt: now,
            updatedAt: now, options: options, variants: variants)
        _ = try await store.createProduct(product)
        let read = try #require(try await store.product(id: "p1"))
        #expect(read.options == options)
        #expect(read.variants.map(\.options) == [["Pack": "1/2 lb"], ["Pack": "1 lb \"big\""]])
    }
}
