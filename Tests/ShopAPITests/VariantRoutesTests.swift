import Foundation
import HTTPTypes
import ShopAPI
import Testing

@Suite("Variant routes")
struct VariantRoutesTests {
    static let jacket = #"""
        {"name":"Field Jacket","description":"Waxed cotton.","category":"outdoor","currency":"USD",
         "options":[{"name":"Size","values":["S","M","L"]},{"name":"Colour","values":["Olive","Navy"]}],
         "variants":[{"sku":"JKT-S-OLV","options":{"Size":"S","Colour":"Olive"},"price":12900,"quantity":4},
                     {"options":{"Size":"M","Colour":"Navy"},"price":13900,"quantity":2},
                     {"sku":"JKT-L-NAVY","options":{"Size":"L","Colour":"Navy"},"price":13900,"quantity":0}]}
        """#

    static func variants(_ reply: Reply) -> [[String: Any]] { reply["variants"] as? [[String: Any]] ?? [] }

    static func order(_ lines: String) -> String {
        #"{"lines":\#(lines),"shippingAddress":\#(TestShop.oregonJSON),"shippingMethodId":"standard"}"#
    }

    @Test func aProductInVariantsIsCreatedReadOrderedAndRestockedPerVariant() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let created = try await c.send(.post, "/products", token: admin.idToken, json: Self.jacket)
            #expect(created.status == .created, "\(created.text)")
            let id = created.string("id")
            let variants = Self.variants(created)
            #expect(variants.count == 3)
            #expect(created.int("price") == 12_900 && created.int("quantity") == 6, "from-price and total stock")
            #expect((created["options"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Size", "Colour"])
            #expect(variants[0]["sku"] as? String == "JKT-S-OLV" && variants[0]["imageUrl"] is NSNull)
            let madeSku = try #require(variants[1]["sku"] as? String)
            #expect(madeSku.hasPrefix("FIELD-JACKET-M-NAVY-"), "a SKU made from the name and values: \(madeSku)")
            #expect(variants[1]["options"] as? [String: String] == ["Size": "M", "Colour": "Navy"])
            let m = try #require(variants[1]["id"] as? String)
            let l = try #require(variants[2]["id"] as? String)

            // A line must name its variant; an unknown one is a 404 naming both ids.
            let shopper = try await c.shopper()
            let unnamed = try await c.send(
                .post, "/orders", token: shopper.idToken, json: Self.order(#"[{"productId":"\#(id)","quantity":1}]"#))
            #expect(
                unnamed.status == .badRequest && unnamed.errorCode == "validation_failed" && unnamed.text.contains("lines[0].variantId"))
            let unknown = try await c.send(
                .post, "/orders", token: shopper.idToken, json: Self.order(#"[{"productId":"\#(id)","variantId":"nope","quantity":1}]"#))
            #expect(unknown.status == .notFound && unknown.errorCode == "variant_not_found")
            #expect(unknown.errorDetails as? [String: String] == ["productId": id, "variantId": "nope"])
            let twice = try await c.send(
                .post, "/orders", token: shopper.idToken,
                json: Self.order(
                    #"[{"productId":"\#(id)","variantId":"\#(m)","quantity":1},{"productId":"\#(id)","variantId":"\#(m)","quantity":1}]"#))
            #expect(twice.status == .badRequest && twice.text.contains("lines[1].variantId"))

            // Size M in Navy: exactly that variant's stock goes down; the line says what was bought.
            let placed = try await c.send(
                .post, "/orders", token: shopper.idToken, json: Self.order(#"[{"productId":"\#(id)","variantId":"\#(m)","quantity":2}]"#))
            #expect(placed.status == .created, "\(placed.text)")
            let line = try #require((placed["lines"] as? [[String: Any]])?.first)
            #expect(line["variantId"] as? String == m && line["sku"] as? String == madeSku && line["unitPrice"] as? Int == 13_900)
            #expect(
                line["name"] as? String == "Field Jacket — M / Navy"
                    && line["options"] as? [String: String] == ["Size": "M", "Colour": "Navy"])
            let after = try await c.send(.get, "/products/\(id)")
            #expect(Self.variants(after).map { $0["quantity"] as? Int } == [4, 0, 0] && after.int("quantity") == 4)
            #expect(after.headers[.eTag] != created.headers[.eTag])

            // Sold out: a 409 naming the variant, nothing taken.
            let short = try await c.send(
                .post, "/orders", token: shopper.idToken, json: Self.order(#"[{"productId":"\#(id)","variantId":"\#(l)","quantity":1}]"#))
            #expect(short.status == .conflict && short.errorCode == "out_of_stock")
            let detail = try #require((short.errorDetails as? [[String: Any]])?.first)
            #expect(detail["variantId"] as? String == l && detail["available"] as? Int == 0 && detail["requested"] as? Int == 1)
            #expect(short.errorMessage?.contains("Field Jacket — L / Navy") == true)

            // Restock one variant; the product route needs a variant here.
            let restocked = try await c.send(.post, "/products/\(id)/variants/\(l)/stock", token: admin.idToken, json: #"{"delta":5}"#)
            #expect(restocked.status == .ok && Self.variants(restocked).map { $0["quantity"] as? Int } == [4, 0, 5])
            let whole = try await c.send(.post, "/products/\(id)/stock", token: admin.idToken, json: #"{"delta":5}"#)
            #expect(whole.status == .conflict && whole.errorCode == "variant_required")
            let missing = try await c.send(.post, "/products/\(id)/variants/nope/stock", token: admin.idToken, json: #"{"delta":5}"#)
            #expect(missing.status == .notFound && missing.errorCode == "variant_not_found")
            let below = try await c.send(.post, "/products/\(id)/variants/\(m)/stock", token: admin.idToken, json: #"{"delta":-1}"#)
            #expect(below.status == .conflict && below.errorCode == "insufficient_stock")

            // Cancelling gives the units back to their variant.
            let cancelled = try await c.send(.post, "/orders/\(placed.string("id"))/cancel", token: shopper.idToken)
            #expect(cancelled.status == .ok)
            #expect(Self.variants(try await c.send(.get, "/products/\(id)")).map { $0["quantity"] as? Int } == [4, 2, 5])
        }
    }

    @Test func anEditKeepsStockAddsAndRemovesVariantsAndGuardsSKUs() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let created = try await c.send(.post, "/products", token: admin.idToken, json: Self.jacket)
            let id = created.string("id")
            let ids = Self.variants(created).compactMap { $0["id"] as? String }
            // Keep S/Olive (its quantity ignored) and L/Navy, drop M/Navy, add XL/Olive with 3.
            let edit = #"""
                {"name":"Field Jacket","category":"outdoor",
                 "options":[{"name":"Size","values":["S","L","XL"]},{"name":"Colour","values":["Olive","Navy"]}],
                 "variants":[{"id":"\#(ids[0])","options":{"Size":"S","Colour":"Olive"},"price":11900,"quantity":999},
                             {"id":"\#(ids[2])","sku":"jkt-l-navy","options":{"Size":"L","Colour":"Navy"},"price":13900},
                             {"options":{"Size":"XL","Colour":"Olive"},"price":14900,"quantity":3}]}
                """#
            let edited = try await c.send(.put, "/products/\(id)", token: admin.idToken, json: edit, headers: [.ifMatch: "\"v1\""])
            #expect(edited.status == .ok, "\(edited.text)")
            let variants = Self.variants(edited)
            #expect(variants.map { $0["quantity"] as? Int } == [4, 0, 3] && edited.int("version") == 2 && edited.int("price") == 11_900)
            #expect(variants[0]["sku"] as? String == "JKT-S-OLV", "a kept variant without a sku keeps its own")
            #expect(variants[1]["sku"] as? String == "jkt-l-navy")

            // Another product may not take a SKU in use, whatever its case.
            let clash = #"{"name":"Other","category":"outdoor","variants":[{"sku":"JKT-s-olv","options":{},"price":100}]}"#
            let taken = try await c.send(.post, "/products", token: admin.idToken, json: clash)
            #expect(
                taken.status == .conflict && taken.errorCode == "sku_taken"
                    && taken.errorDetails as? [String: String] == ["sku": "JKT-s-olv"])

            // Broken rules name their fields by path.
            let broken = #"""
                {"name":"Bad","category":"x","options":[{"name":"Size","values":["S","s"]},{"name":"size","values":[]}],
                 "variants":[{"sku":"bad sku","options":{"Size":"S"},"price":0}]}
                """#
            let refused = try await c.send(.post, "/products", token: admin.idToken, json: broken)
            #expect(refused.status == .badRequest && refused.errorCode == "validation_failed")
            let fields = Set((refused.errorDetails as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(
                fields.isSuperset(of: [
                    "options[0].values[1]", "options[1].name", "options[1].values", "variants[0].sku", "variants[0].price",
                    "variants[0].options",
                ]), "\(fields)")
            let foreign = try await c.send(
                .put, "/products/\(id)", token: admin.idToken,
                json: #"""
                    {"name":"Field Jacket","category":"outdoor","options":[{"name":"Size","values":["S"]}],
                     "variants":[{"id":"not-mine","options":{"Size":"S"},"price":100}]}
                    """#)
            #expect(foreign.status == .badRequest && foreign.text.contains("variants[0].id"))
            let priced = try await c.send(
                .put, "/products/\(id)", token: admin.idToken, json: #"{"name":"Field Jacket","category":"outdoor","price":100}"#)
            #expect(priced.status == .conflict && priced.errorCode == "variant_required")

            // A kept variant without a sku keeps its own: another variant may not take it in the same edit.
            let clashInside = #"""
                {"name":"Field Jacket","category":"outdoor",
                 "options":[{"name":"Size","values":["S","L","XL"]},{"name":"Colour","values":["Olive","Navy"]}],
                 "variants":[{"id":"\#(ids[0])","options":{"Size":"S","Colour":"Olive"},"price":11900},
                             {"id":"\#(ids[2])","sku":"jkt-S-olv","options":{"Size":"L","Colour":"Navy"},"price":13900}]}
                """#
            let twinSku = try await c.send(.put, "/products/\(id)", token: admin.idToken, json: clashInside)
            #expect(twinSku.status == .badRequest && twinSku.text.contains("variants[1].sku"), "\(twinSku.text)")

            // A variant an unpaid order holds cannot be removed.
            let shopper = try await c.shopper()
            let placed = try await c.send(
                .post, "/orders", token: shopper.idToken,
                json: Self.order(#"[{"productId":"\#(id)","variantId":"\#(ids[0])","quantity":1}]"#))
            #expect(placed.status == .created)
            let drop = #"""
                {"name":"Field Jacket","category":"outdoor","options":[{"name":"Size","values":["L"]},{"name":"Colour","values":["Navy"]}],
                 "variants":[{"id":"\#(ids[2])","options":{"Size":"L","Colour":"Navy"},"price":13900}]}
                """#
            let held = try await c.send(.put, "/products/\(id)", token: admin.idToken, json: drop)
            #expect(
                held.status == .conflict && held.errorCode == "variant_in_use"
                    && held.errorDetails as? [String: String] == ["variantId": ids[0]])
            #expect(try await c.send(.get, "/products/\(id)").int("version") == 2, "a refused edit changes nothing")
        }
    }

    /// A product with an option but one variant is sold without naming it; a second line naming it is the same variant.
    @Test func aLineWithoutAVariantAndOneNamingItAreTheSameVariant() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let created = try await c.send(
                .post, "/products", token: admin.idToken,
                json: #"""
                    {"name":"Mug","category":"kitchen","options":[{"name":"Colour","values":["Red"]}],
                     "variants":[{"options":{"Colour":"Red"},"price":900,"quantity":50}]}
                    """#)
            let id = created.string("id")
            let variantId = try #require(Self.variants(created).first?["id"] as? String)
            #expect(variantId != id)
            let shopper = try await c.shopper()
            let both = try await c.send(
                .post, "/orders", token: shopper.idToken,
                json: Self.order(
                    #"[{"productId":"\#(id)","quantity":2},{"productId":"\#(id)","variantId":"\#(variantId)","quantity":2}]"#))
            #expect(both.status == .badRequest && both.text.contains("lines[1].variantId"), "\(both.text)")
            #expect(try await c.send(.get, "/products/\(id)").int("quantity") == 50, "nothing taken")
            let one = try await c.send(
                .post, "/orders", token: shopper.idToken, json: Self.order(#"[{"productId":"\#(id)","quantity":2}]"#))
            #expect(one.status == .created && (one["lines"] as? [[String: Any]])?.first?["variantId"] as? String == variantId)
        }
    }

    @Test func aProductWithoutOptionsIsItsDefaultVariantAsBefore() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let created = try await c.send(.post, "/products", token: admin.idToken, json: ProductRoutesTests.lamp)
            let id = created.string("id")
            let variant = try #require(Self.variants(created).first)
            #expect(variant["id"] as? String == id && variant["options"] as? [String: String] == [:] && variant["price"] as? Int == 4_500)
            #expect((created["options"] as? [Any])?.isEmpty == true)
            // The old routes and bodies work: an order line without a variant, the product's stock route, a PUT with a price.
            let shopper = try await c.shopper()
            let placed = try await c.placeOrder([(id, 2)], token: shopper.idToken)
            #expect(placed.status == .created)
            #expect((placed["lines"] as? [[String: Any]])?.first?["variantId"] as? String == id)
            #expect(try await c.send(.post, "/products/\(id)/stock", token: admin.idToken, json: #"{"delta":3}"#).int("quantity") == 8)
            let repriced = try await c.send(
                .put, "/products/\(id)", token: admin.idToken, json: #"{"name":"Desk lamp","category":"home","price":4900}"#)
            #expect(repriced.int("price") == 4_900 && repriced.int("quantity") == 8)
            #expect(
                try await c.send(.post, "/products/\(id)/variants/\(id)/stock", token: admin.idToken, json: #"{"delta":-8}"#).int(
                    "quantity") == 0)
        }
    }
}
