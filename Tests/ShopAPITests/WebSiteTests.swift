import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ShopAPI
import ShopAssembly
import ShopLocal
import Testing

/// `shop serve`'s website: files at `/` with their headers, beside an unchanged API, and CORS for listed origins.
@Suite struct WebSiteTests {
    static let files: [String: [UInt8]] = [
        "/index.html": Array("<!doctype html><title>Shop</title>".utf8),
        "/js/main.js": Array("export const x = 1;".utf8),
        "/css/shop.css": Array("body { color: black; }".utf8),
        "/config.js": Array("export const config = {};".utf8),
    ]

    func site(cors: [String] = []) throws -> SiteOptions {
        SiteOptions(web: try WebSite(files: Self.files, contentSecurityPolicy: WebSite.contentSecurityPolicy()), corsOrigins: cors)
    }

    @Test func filesAreServedWithTypesSecurityHeadersAndRevalidation() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test(site: try site()) { client in
            for (path, type) in [
                ("/", "text/html; charset=utf-8"), ("/index.html", "text/html; charset=utf-8"),
                ("/js/main.js", "text/javascript; charset=utf-8"), ("/css/shop.css", "text/css; charset=utf-8"),
            ] {
                let reply = try await client.send(.get, path)
                #expect(reply.status == .ok, "\(path)")
                #expect(reply.headers[.contentType] == type, "\(path)")
                #expect(reply.headers[.cacheControl] == "no-cache")
                #expect(reply.headers[.xContentTypeOptionsTest] == "nosniff")
                let csp = reply.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("script-src 'self';") && csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"))
                #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"))
                let etag = try #require(reply.headers[.eTag])
                let again = try await client.send(.get, path, headers: [.ifNoneMatch: "\"other\", \(etag)"])
                #expect(again.status == .notModified && again.text.isEmpty && again.headers[.eTag] == etag)
                let weak = try await client.send(.get, path, headers: [.ifNoneMatch: "W/\(etag)"])
                #expect(weak.status == .notModified, "If-None-Match compares weakly: \(path)")
            }
            #expect(try await client.send(.get, "/js/main.js").text == "export const x = 1;")
            let head = try await client.send(.head, "/css/shop.css")
            #expect(head.status == .ok && head.text.isEmpty && head.headers[.contentLength] == "22")
        }
    }

    @Test func theAPIIsUnchangedBesideTheFiles() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.product("Tea")
        try await shop.test(site: try site()) { client in
            #expect(try await client.send(.get, "/health").json["status"] as? String == "ok")
            #expect(try await client.send(.get, "/products").items.count == 1)
            let missing = try await client.send(.get, "/js/nothing.js")
            #expect(missing.status == .notFound && missing.errorCode == "route_not_found")
            // A file path takes GET and HEAD only; anything else goes on to the API's router.
            #expect(try await client.send(.post, "/index.html", json: "{}").errorCode == "route_not_found")
            // No CORS headers unless an origin is listed.
            #expect(
                try await client.send(.get, "/health", headers: [.origin: "https://elsewhere.example"]).headers[.accessControlAllowOrigin]
                    == nil)
        }
    }

    /// Every first path segment the API serves is reserved, so no web file can ever hide a route (new routes included).
    @Test func everyRoutesFirstSegmentIsReserved() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let firsts = Set(
            routeTable(services: shop.services).compactMap { $0.split(separator: " ").last?.split(separator: "/").first.map(String.init) })
        #expect(firsts.contains("settings") && firsts.contains("account"))
        #expect(
            firsts.subtracting(WebSite.reservedPrefixes).isEmpty, "unreserved: \(firsts.subtracting(WebSite.reservedPrefixes).sorted())")
    }

    @Test func filesThatWouldHideTheAPIOrHaveNoTypeAreRefused() {
        for path in [
            "/products/app.js", "/orders/list.html", "/health/x.css", "/images/a.png", "/auth/x.js", "/.well-known/a.txt", "/payment/p.js",
        ] {
            if (try? WebSite(files: [path: [1]], contentSecurityPolicy: "")) != nil { Issue.record("\(path) was accepted") }
        }
        #expect((try? WebSite(files: ["/app.exe": [1]], contentSecurityPolicy: "")) == nil)
        #expect((try? WebSite(files: ["/a/../index.html": [1]], contentSecurityPolicy: "")) == nil)
        for path in ["/productsearch.js", "/orders.html"] {
            #expect((try? WebSite(files: [path: [1]], contentSecurityPolicy: "")) != nil, "\(path): only whole segments are reserved")
        }
    }

    @Test func theRepositoryWebsiteLoadsUnderAStrictPolicy() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try ShopConfiguration(environment: ["SHOP_WEB_DIR": repository.appendingPathComponent("web").path])
        let site = try LocalSite.load(configuration, logger: Logger(label: "test"))
        let paths = try #require(site.web).paths
        for path in ["/", "/index.html", "/config.js", "/js/main.js", "/js/api.js", "/css/shop.css"] {
            #expect(paths.contains(path), "\(path)")
        }
        #expect(throws: ShopConfiguration.Invalid.self) {
            try LocalSite.load(try ShopConfiguration(environment: ["SHOP_WEB_DIR": "/nonexistent/web"]), logger: Logger(label: "test"))
        }
        // The default ./web may be absent (a binary run elsewhere): then only the API is served.
        var absent = ShopConfiguration()
        #expect(absent.web.directory == "./web" && !absent.web.directoryRequired)
        absent.web.directory = "/nonexistent/web"
        #expect(try LocalSite.load(absent, logger: Logger(label: "test")).web == nil)
    }

    @Test func thePolicyNamesStripeAndTheBucketOnlyWhenConfigured() throws {
        let plain = WebSite.contentSecurityPolicy()
        #expect(plain.contains("frame-src 'none'") && !plain.contains("stripe"))
        let stripe = WebSite.contentSecurityPolicy(
            stripeJS: "http://127.0.0.1:8420", imageOrigins: ["https://cdn.example"],
            connectOrigins: ["https://b.s3.us-east-1.amazonaws.com"])
        #expect(stripe.contains("script-src 'self' http://127.0.0.1:8420;"))
        #expect(stripe.contains("frame-src http://127.0.0.1:8420 https://hooks.stripe.com;"))
        #expect(stripe.contains("connect-src 'self' https://b.s3.us-east-1.amazonaws.com http://127.0.0.1:8420 https://api.stripe.com;"))
        #expect(stripe.contains("img-src 'self' blob: https://cdn.example;"))
        let real = WebSite.contentSecurityPolicy(stripeJS: "https://js.stripe.com")
        #expect(real.contains("script-src 'self' https://js.stripe.com https://*.js.stripe.com;"))
    }

    @Test func shopServeMakesItsPolicyFromTheConfiguration() throws {
        let plain = LocalSite.contentSecurityPolicy(ShopConfiguration())
        #expect(plain == WebSite.contentSecurityPolicy())
        let stripe = LocalSite.contentSecurityPolicy(
            try ShopConfiguration(environment: [
                "SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk_test_x", "SHOP_PAYMENTS_WEBHOOK_SECRET": "whsec_x",
                "SHOP_STRIPE_JS_URL": "http://127.0.0.1:8420/js.stripe.com/v3/",
            ]))
        #expect(stripe.contains("script-src 'self' http://127.0.0.1:8420;"))
        let s3 = LocalSite.contentSecurityPolicy(
            try ShopConfiguration(environment: [
                "SHOP_IMAGES": "s3", "SHOP_S3_BUCKET": "pics", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "a",
                "AWS_SECRET_ACCESS_KEY": "b",
                "SHOP_IMAGE_BASE_URL": "https://cdn.example.com/images",
            ]))
        #expect(s3.contains("connect-src 'self' https://pics.s3.eu-west-1.amazonaws.com;"))
        #expect(s3.contains("img-src 'self' blob: https://cdn.example.com;"))
        #expect(LocalSite.origin(of: "https://a.example:8443/x/y?z#w") == "https://a.example:8443")
        #expect(LocalSite.origin(of: "http://h") == "http://h")
    }

    @Test func listedOriginsGetCORSHeadersAndPreflights() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let origin = "http://localhost:5173"
        try await shop.test(site: try site(cors: [origin])) { client in
            let plain = try await client.send(.get, "/products")
            #expect(plain.headers[.vary] == "Origin" && plain.headers[.accessControlAllowOrigin] == nil)
            let get = try await client.send(.get, "/products", headers: [.origin: origin])
            #expect(get.headers[.accessControlAllowOrigin] == origin && get.headers[.vary] == "Origin")
            #expect(get.headers[.accessControlExposeHeaders]?.contains("ETag") == true)
            // Errors carry the headers too, so the page can read the envelope.
            let error = try await client.send(.get, "/orders", headers: [.origin: origin])
            #expect(error.status == .unauthorized && error.headers[.accessControlAllowOrigin] == origin)

            let preflight = try await client.send(
                .options, "/orders",
                headers: [
                    .origin: origin, .accessControlRequestMethod: "POST",
                    .accessControlRequestHeaders: "authorization, content-type, idempotency-key",
                ])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == origin)
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            let allowed = (preflight.headers[.accessControlAllowHeaders] ?? "").lowercased()
            for name in ["authorization", "content-type", "idempotency-key", "if-match"] { #expect(allowed.contains(name)) }

            let stranger = try await client.send(
                .options, "/orders", headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"])
            #expect(stranger.status == .forbidden && stranger.errorCode == "origin_not_allowed")
            #expect(stranger.headers[.accessControlAllowOrigin] == nil)
            let strangerGet = try await client.send(.get, "/products", headers: [.origin: "https://evil.example"])
            #expect(strangerGet.status == .ok && strangerGet.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func corsOriginsAreParsedStrictly() throws {
        let parsed = try ShopConfiguration(environment: ["SHOP_CORS_ORIGINS": " http://localhost:5173 , https://shop.example.com "])
        #expect(parsed.web.corsOrigins == ["http://localhost:5173", "https://shop.example.com"])
        #expect(ShopConfiguration().web.corsOrigins.isEmpty)
        for bad in ["*", "localhost:5173", "https://shop.example.com/", "https://a.example/path", "ftp://x.example", "https://"] {
            #expect(throws: ShopConfiguration.Invalid.self, "\(bad)") { try ShopConfiguration(environment: ["SHOP_CORS_ORIGINS": bad]) }
        }
    }
}

extension HTTPField.Name {
    static let xContentTypeOptionsTest = Self("X-Content-Type-Options")!
}
