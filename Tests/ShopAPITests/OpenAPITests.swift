import Foundation
import ShopAPI
import Testing

/// The OpenAPI document, the router and docs/API.md describe the same routes.
@Suite("OpenAPI document")
struct OpenAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    static var documentRoutes: Set<String> {
        get throws {
            let document = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any]
            let paths = try #require(document?["paths"] as? [String: [String: Any]])
            var routes: Set<String> = []
            for (path, item) in paths {
                for method in item.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                    routes.insert("\(method.uppercased()) \(path)")
                }
            }
            return routes
        }
    }

    @Test func theServedDocumentIsTheCommittedOne() async throws {
        let committed = try Data(contentsOf: Self.root.appendingPathComponent("docs/openapi.json"))
        let a = try JSONSerialization.jsonObject(with: committed) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? NSDictionary
        #expect(a != nil && a == b, "run scripts/openapi.py: docs/openapi.json and the served document differ")
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let served = try await c.send(.get, "/openapi.json")
            #expect(served.status == .ok)
            #expect(served.text == OpenAPIDocument.json)
            #expect(served.json["openapi"] as? String == "3.1.0")
        }
    }

    @Test func everyRouteIsInTheDocumentAndEveryDocumentedRouteExists() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let served = Set(routeTable(services: shop.services))
        let documented = try Self.documentRoutes
        #expect(served.subtracting(documented).isEmpty, "served, not in the OpenAPI document: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "in the OpenAPI document, not served: \(documented.subtracting(served).sorted())")
    }

    @Test func apiMarkdownAndTheDocumentAgree() throws {
        let documented = try Self.documentRoutes
        let markdown = try APIDocumentTests.documentedRoutes
        #expect(
            markdown == documented,
            "docs/API.md only: \(markdown.subtracting(documented).sorted()); OpenAPI only: \(documented.subtracting(markdown).sorted())")
    }
}
