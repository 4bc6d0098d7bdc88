import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ShopAPI
import ShopAssembly
import Testing

@Suite("Product images (local store)")
struct ImageRoutesTests {
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: UInt8(7), count: 500))

    /// PUTs bytes to an upload URL the way a browser would: only the URL and the given headers.
    static func put(_ c: ShopClient, _ url: String, contentType: String, bytes: Data) async throws -> HTTPResponse.Status {
        try await c.client.execute(uri: url, method: .put, headers: [.contentType: contentType], body: ByteBuffer(data: bytes)).status
    }

    /// A host with no image storage (a function without SHOP_IMAGES=s3) says so: 501 images_not_configured, not a 500.
    @Test func imagesNotConfiguredIsA501() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let product = try await shop.product()
        let service = ImageService(catalog: shop.store, images: nil)
        for attempt in ["start", "commit"] {
            do {
                if attempt == "start" {
                    _ = try await service.startUpload(productId: product.id, contentType: "image/png")
                } else {
                    _ = try await service.commit(productId: product.id, key: "products/\(product.id)/x.png")
                }
                Issue.record("\(attempt): no error")
            } catch {
                #expect(error.status == .notImplemented, "\(attempt)")
                #expect(error.code == "images_not_configured")
                #expect(error.message.contains("SHOP_IMAGES=s3"))
            }
        }
    }

    /// Behind TLS the request arrives as plain HTTP: the upload URL is built on SHOP_PUBLIC_URL, never on `http://`.
    @Test func uploadURLsUseThePublicURL() async throws {
        let shop = try await TestShop(limits: ["SHOP_PUBLIC_URL": "https://shop.example.com/"])
        defer { shop.cleanUp() }
        let product = try await shop.product()
        try await shop.live { c in
            let admin = try await shop.admin(c)
            let start = try await c.send(
                .post, "/products/\(product.id)/image", token: admin.idToken, json: #"{"contentType":"image/png"}"#)
            #expect(start.string("uploadUrl").hasPrefix("https://shop.example.com/uploads/products/\(product.id)/"), "\(start.text)")
        }
        let configuration = try ShopConfiguration(environment: ["SHOP_PUBLIC_URL": "https://shop.example.com/"])
        #expect(configuration.effectiveIssuer == "https://shop.example.com", "the local issuer's default is the public address")
        #expect(throws: ShopConfiguration.Invalid.self) { try ShopConfiguration(environment: ["SHOP_PUBLIC_URL": "shop.example.com"]) }
    }

    @Test func uploadCommitAndServe() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let product = try await shop.product()
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let start = try await c.send(
                .post, "/products/\(product.id)/image", token: admin.idToken, json: #"{"contentType":"image/png"}"#)
            #expect(start.status == .ok)
            #expect(start.string("method") == "PUT")
            let key = start.string("key")
            #expect(key.hasPrefix("products/\(product.id)/") && key.hasSuffix(".png"))
            #expect((start["headers"] as? [String: String])?["Content-Type"] == "image/png")
            let url = start.string("uploadUrl")
            #expect(url.contains("signature="))
            let expires = try #require(
                ISO8601DateFormatter().date(
                    from: start.string("expiresAt").replacingOccurrences(of: #"\.\d+Z"#, with: "Z", options: .regularExpression)))
            #expect(expires.timeIntervalSince(shop.clock.now) <= 15 * 60)

            // Committing before the upload points the product at nothing: refused.
            let early = try await c.send(.post, "/products/\(product.id)/image/commit", token: admin.idToken, json: #"{"key":"\#(key)"}"#)
            #expect(early.status == .conflict)
            #expect(early.errorCode == "image_not_uploaded")

            #expect(try await Self.put(c, url, contentType: "image/png", bytes: Self.png) == .ok)
            let committed = try await c.send(
                .post, "/products/\(product.id)/image/commit", token: admin.idToken, json: #"{"key":"\#(key)"}"#)
            #expect(committed.status == .ok)
            let imageUrl = committed.string("imageUrl")
            #expect(imageUrl == "/images/\(key)")
            #expect(committed.int("version") == 2)
            let served = try await c.client.execute(uri: imageUrl, method: .get)
            #expect(served.status == .ok)
            #expect(served.headers[.contentType] == "image/png")
            #expect(served.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(Data(buffer: served.body) == Self.png)
            #expect(try await c.send(.get, "/products/\(product.id)").string("imageUrl") == imageUrl)

            // Single-use: the same URL cannot overwrite the committed image.
            let other = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3])
            let reuse = try await c.send(.put, url, json: nil, headers: [.contentType: "image/png"])
            #expect(reuse.status == .forbidden)
            #expect(reuse.errorCode == "upload_url_used")
            #expect(try await Self.put(c, url, contentType: "image/png", bytes: other) == .forbidden)
            #expect(Data(buffer: try await c.client.execute(uri: imageUrl, method: .get).body) == Self.png, "unchanged")
        }
    }

    @Test func bytesThatAreNotTheDeclaredImageAreRefusedAtCommit() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let product = try await shop.product()
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let start = try await c.send(
                .post, "/products/\(product.id)/image", token: admin.idToken, json: #"{"contentType":"image/jpeg"}"#)
            let script = Data("<html><script>alert(document.cookie)</script></html>".utf8)
            #expect(try await Self.put(c, start.string("uploadUrl"), contentType: "image/jpeg", bytes: script) == .ok)
            let commit = try await c.send(
                .post, "/products/\(product.id)/image/commit", token: admin.idToken, json: #"{"key":"\#(start.string("key"))"}"#)
            #expect(commit.status == .conflict)
            #expect(commit.errorCode == "image_content_mismatch")
            #expect(try await c.client.execute(uri: "/images/\(start.string("key"))", method: .get).status == .notFound, "removed")
            #expect(try await c.send(.get, "/products/\(product.id)").json["imageUrl"] is NSNull)
        }
    }

    @Test func badUploadsAreRefusedAndStoreNothing() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let product = try await shop.product()
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let user = try await c.shopper()
            let body = #"{"contentType":"image/jpeg"}"#
            #expect(try await c.send(.post, "/products/\(product.id)/image", json: body).status == .unauthorized)
            #expect(try await c.send(.post, "/products/\(product.id)/image", token: user.idToken, json: body).status == .forbidden)
            let gif = try await c.send(.post, "/products/\(product.id)/image", token: admin.idToken, json: #"{"contentType":"image/gif"}"#)
            #expect(gif.status == .badRequest)
            #expect(gif.errorCode == "unsupported_image_type")
            #expect(try await c.send(.post, "/products/nope/image", token: admin.idToken, json: body).status == .notFound)

            let start = try await c.send(.post, "/products/\(product.id)/image", token: admin.idToken, json: body)
            let url = start.string("uploadUrl")
            let key = start.string("key")
            let tampered = url.replacingOccurrences(of: "signature=", with: "signature=x")
            #expect(try await Self.put(c, tampered, contentType: "image/jpeg", bytes: Self.png) == .forbidden)
            let otherKey = url.replacingOccurrences(of: key, with: "products/\(product.id)/other.jpg")
            #expect(try await Self.put(c, otherKey, contentType: "image/jpeg", bytes: Self.png) == .forbidden)
            #expect(
                try await Self.put(c, url, contentType: "image/png", bytes: Self.png) == .forbidden,
                "content type is bound into the signature")
            let tooBig = Data(repeating: 1, count: 5 * 1024 * 1024 + 1)
            #expect(try await Self.put(c, url, contentType: "image/jpeg", bytes: tooBig) == .contentTooLarge)
            let commit = try await c.send(.post, "/products/\(product.id)/image/commit", token: admin.idToken, json: #"{"key":"\#(key)"}"#)
            #expect(commit.status == .conflict, "none of the refused uploads stored anything")

            shop.clock.advance(by: 15 * 60 + 1)
            #expect(try await Self.put(c, url, contentType: "image/jpeg", bytes: Self.png) == .forbidden, "expired")

            let foreign = try await c.send(
                .post, "/products/\(product.id)/image/commit", token: admin.idToken, json: #"{"key":"products/someone-else/x.jpg"}"#)
            #expect(foreign.status == .badRequest)
            #expect(try await c.send(.get, "/products/\(product.id)").json["imageUrl"] is NSNull)
        }
    }
}
