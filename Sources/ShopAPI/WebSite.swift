import HTTPTypes
import Hummingbird
import ShopSupport

/// The website's static files (`web/`), held in memory and served by `shop serve` at `/`.
///
/// The pages use hash routes (`/#/product/<id>`), so the server only ever serves real files, and no
/// file path may collide with an API path (`init` refuses one that does). Every file is answered with
/// its content type, `Cache-Control: no-cache` plus a strong `ETag` (revalidated with `If-None-Match`,
/// since file names carry no content hash), and the security headers: a strict
/// `Content-Security-Policy` without inline script, `nosniff`, no framing, a same-origin referrer.
public struct WebSite: Sendable {
    public struct File: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    /// Content types by file extension; files of other types are not served.
    public static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml",
        "png": "image/png",
        "ico": "image/x-icon",
        "webmanifest": "application/manifest+json",
        "txt": "text/plain; charset=utf-8",
    ]

    /// First path segments that belong to the API (and the local image routes); no web file may start with one.
    public static let reservedPrefixes: Set<String> = [
        "health", "openapi.json", "auth", "products", "orders", "payment", "uploads", "images", ".well-known", "settings", "account",
        "admin",
    ]

    /// A web file's path is not servable: another type, or a path the API owns.
    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    let files: [String: File]
    let headers: HTTPFields

    /// `files` maps each URL path (`/index.html`, `/js/app.js`) to its bytes; `/` serves `/index.html`.
    public init(files: [String: [UInt8]], contentSecurityPolicy: String) throws(Refused) {
        var served: [String: File] = [:]
        for (path, bytes) in files {
            guard path.hasPrefix("/"), !path.contains("//"), !path.split(separator: "/").contains("..") else {
                throw Refused(description: "\(path) is not a clean absolute path")
            }
            let first = path.dropFirst().split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            guard !Self.reservedPrefixes.contains(first) else {
                throw Refused(description: "\(path) would hide the API's /\(first) routes")
            }
            guard let type = Self.contentType(of: path) else {
                throw Refused(description: "\(path) has no known content type")
            }
            served[path] = File(body: ByteBuffer(bytes: bytes), contentType: type, etag: "\"\(EntityTags.digest(bytes))\"")
        }
        if let index = served["/index.html"] { served["/"] = index }
        self.files = served
        self.headers = [
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            .xFrameOptions: "DENY",
            .referrerPolicy: "same-origin",
            .cacheControl: "no-cache",
        ]
    }

    /// The content type a file is served with, from its extension; nil: such files are not served.
    public static func contentType(of path: some StringProtocol) -> String? {
        guard let dot = path.lastIndex(of: ".") else { return nil }
        return contentTypes[path[path.index(after: dot)...].lowercased()]
    }

    /// The URL paths served, `/` included.
    public var paths: [String] { files.keys.sorted() }

    /// The policy for pages that load scripts and styles only from their own origin. `stripeJS` is the
    /// origin Stripe.js comes from (in Stripe mode only; the one script from elsewhere), `imageOrigins`
    /// where product images load from, `connectOrigins` other origins the pages call (an S3 bucket for
    /// presigned uploads, an API on another origin).
    public static func contentSecurityPolicy(stripeJS: String? = nil, imageOrigins: [String] = [], connectOrigins: [String] = []) -> String
    {
        func list(_ base: [String], _ more: [String]) -> String {
            var seen: [String] = []
            for item in base + more where !seen.contains(item) { seen.append(item) }
            return seen.joined(separator: " ")
        }
        // Stripe's own guidance names its script origin and its subdomains (for script-src and frame-src).
        let stripe = stripeJS.map { [$0] + ($0 == "https://js.stripe.com" ? ["https://*.js.stripe.com"] : []) } ?? []
        let stripeAPI = stripeJS == nil ? [] : ["https://api.stripe.com"]
        return [
            "default-src 'none'",
            "script-src " + list(["'self'"], stripe),
            "style-src 'self'",
            "img-src " + list(["'self'", "blob:"], imageOrigins),
            "connect-src " + list(["'self'"], connectOrigins + stripe + stripeAPI),
            "frame-src " + (stripeJS == nil ? "'none'" : list(stripe, ["https://hooks.stripe.com"])),
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    func response(for request: Request) -> Response? {
        guard request.method == .get || request.method == .head, let file = files[request.uri.path] else { return nil }
        var headers = headers
        headers[.eTag] = file.etag
        if EntityTags.matches(request.headers[.ifNoneMatch], file.etag, wildcard: true) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = file.contentType
        headers[.contentLength] = String(file.body.readableBytes)
        return Response(status: .ok, headers: headers, body: request.method == .head ? .init() : .init(byteBuffer: file.body))
    }
}

/// Cross-origin access for a storefront served from another origin in development (`SHOP_CORS_ORIGINS`).
/// On AWS the HTTP API's own CORS configuration does this. A listed origin gets
/// `Access-Control-Allow-Origin` on every answer, errors included, and its preflights are answered here;
/// a preflight from any other origin is refused with 403 `origin_not_allowed`. `RequestMiddleware` asks it first
/// (`preflight`) and has it mark the answer last (`mark`).
struct CrossOrigin: Sendable {
    let origins: Set<String>

    static var allowMethods: String { "GET, POST, PUT, DELETE" }
    static var allowHeaders: String { "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-Id" }
    static var exposeHeaders: String { "ETag, Location, Retry-After, WWW-Authenticate, X-Request-Id" }

    /// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method` and an `Origin`); nil for any other request.
    func preflight(_ request: Request, requestId: String) throws -> Response? {
        guard let origin = request.headers[.origin], request.method == .options, request.headers[.accessControlRequestMethod] != nil
        else { return nil }
        guard origins.contains(origin) else {
            var response = try ErrorEnvelope.response(
                APIError(.forbidden, "origin_not_allowed", "Requests from \(origin) are not allowed; list the origin in SHOP_CORS_ORIGINS.")
            )
            Self.varyOnOrigin(&response.headers)
            response.headers[.requestId] = requestId
            return response
        }
        return Response(
            status: .noContent,
            headers: [
                .accessControlAllowOrigin: origin, .vary: "Origin",
                .accessControlAllowMethods: Self.allowMethods, .accessControlAllowHeaders: Self.allowHeaders,
                .accessControlMaxAge: "600", .requestId: requestId,
            ])
    }

    /// Marks any other answer: `Vary: Origin` always (answers differ by Origin whenever CORS is on, so caches must
    /// know, even for a request without one), and the allow and expose headers for a listed origin.
    func mark(_ response: inout Response, for request: Request) {
        Self.varyOnOrigin(&response.headers)
        if let origin = request.headers[.origin], origins.contains(origin) {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = Self.exposeHeaders
        }
    }

    /// Adds `Origin` to `Vary`, keeping what is there.
    static func varyOnOrigin(_ headers: inout HTTPFields) {
        let existing = headers[values: .vary].flatMap { $0.split(separator: ",").map { $0.trimmingWhitespace() } }
        guard !existing.contains(where: { $0.lowercased() == "origin" }) else { return }
        headers[.vary] = (existing + ["Origin"]).joined(separator: ", ")
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
