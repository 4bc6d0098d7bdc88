import Foundation
import ShopAPI
import Testing

/// docs/API.md is the contract: it has one `### METHOD /path` section per route the router serves, and
/// no section for a route that does not exist.
@Suite("docs/API.md")
struct APIDocumentTests {
    static var documentedRoutes: Set<String> {
        get throws {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/API.md")
            let text = try String(contentsOf: url, encoding: .utf8)
            return Set(
                text.split(separator: "\n").compactMap { line -> String? in
                    let parts = line.split(separator: " ")
                    guard parts.count == 3, parts[0] == "###", ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(parts[1]) else {
                        return nil
                    }
                    return "\(parts[1]) \(parts[2])"
                })
        }
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        // The full set: local identity (JWKS route) and local images (upload and image routes).
        let served = Set(routeTable(services: shop.services))
        let documented = try Self.documentedRoutes
        #expect(served.count >= 20, "\(served.sorted())")
        #expect(served.subtracting(documented).isEmpty, "served but not in docs/API.md: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "in docs/API.md but not served: \(documented.subtracting(served).sorted())")
    }
}
