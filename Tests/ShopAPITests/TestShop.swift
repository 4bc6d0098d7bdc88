import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Logging
import SQLiteStore
import ShopAPI
import ShopAssembly
import ShopDomain
import ShopLocal
import ShopStorage
import ShopSupport
import Synchronization
import Testing

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date(unixMillis: 1_780_000_000_000)) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: Double) { current.withLock { $0 = Date(unixMillis: ($0.addingTimeInterval(seconds)).unixMillis) } }
    var wallClock: WallClock { WallClock { self.now } }
}

/// The whole local store on a fresh SQLite file, with an injected clock and cheap bcrypt.
struct TestShop {
    static let issuer = "http://shop.test"
    static let clientId = "test-client"
    /// One key for the whole test run: RSA generation is slow.
    static let signingKey: SigningKey = try! SigningKey.generate()

    let dir: String
    let store: SQLiteStore
    let clock: TestClock
    let services: ShopServices
    let identity: any IdentityProvider
    /// The payment simulator, its webhooks signed with `webhookSecret` and delivered only when a test asks.
    let simulator: SimulatedGateway
    static let webhookSecret = "whsec_test_secret"

    /// A US address without sales tax in the built-in settings: an order's total there is its subtotal plus shipping.
    static let oregon = Address(
        name: "Ada Lovelace", line1: "1 Main St", city: "Portland", region: "OR", postalCode: "97201", country: "US")
    static let oregonJSON =
        #"{"name":"Ada Lovelace","line1":"1 Main St","city":"Portland","region":"OR","postalCode":"97201","country":"US"}"#

    /// An order request shipped to `oregon` by the standard method, for tests that place orders through the service.
    static func request(_ lines: [OrderRequest.Line]) -> OrderRequest {
        OrderRequest(lines: lines, shippingAddress: oregon, shippingMethodId: "standard")
    }

    /// A simulated gateway with its own file under `dir`.
    static func simulator(in dir: String, clock: WallClock = .system) throws -> SimulatedGateway {
        try SimulatedGateway(
            path: dir + "/simulator.sqlite", webhookSecret: webhookSecret, webhookURL: nil, clock: clock, logger: Logger(label: "simulator")
        )
    }

    /// The configuration every API test runs with: the embedded defaults, a fixed issuer and client id,
    /// and cheap bcrypt.
    static func configuration(orderTTL: Int, limits: [String: String] = [:]) throws -> ShopConfiguration {
        try ShopConfiguration(
            environment: [
                "SHOP_TOKEN_ISSUER": issuer, "SHOP_CLIENT_ID": clientId, "SHOP_BCRYPT_COST": "4",
                "SHOP_ORDER_TTL_SECONDS": String(orderTTL),
                // Tests sign many users in from one address: limits are off unless a test sets them.
                "SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "0", "SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE": "0",
                // And place many orders per shopper, up to the contract's 1,000 units a line.
                "SHOP_MAX_OPEN_ORDERS": "0", "SHOP_MAX_UNITS_PER_LINE": "1000",
                // No emails (the file sender would write under ./data); a test that wants them sets its own mailer.
                "SHOP_MAIL": "off",
            ].merging(limits) { $1 })
    }

    /// Built through the one composition root, as `shop serve` is, with the test's own SQLite file,
    /// clock, image directory and secrets.
    init(orderTTL: Int = 900, catalog: (any CatalogStore)? = nil, limits: [String: String] = [:]) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("shop-api-\(UUID().uuidString)").path
        store = try SQLiteStore(directory: dir)
        clock = TestClock()
        let images = LocalImageStore(directory: dir + "/images", secret: Array("test-upload-secret".utf8), clock: clock.wallClock)
        simulator = try Self.simulator(in: dir, clock: clock.wallClock)
        let host = HostParts(
            stores: ShopStores(
                catalog: catalog ?? store, orders: store, users: store, settings: store, addresses: store, outbox: store, stats: store),
            localImages: images, simulatedPayments: simulator,
            secrets: ShopSecrets(cursorSecret: Array("test-cursor-secret".utf8), tokenSigningKey: Self.signingKey),
            clock: clock.wallClock, logger: Logger(label: "test"))
        services = try await ShopAssembly.assemble(try Self.configuration(orderTTL: orderTTL, limits: limits), host: host).services
        identity = services.identity
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs `body` against the router, with no socket.
    func test<T: Sendable>(site: SiteOptions = .init(), _ body: @Sendable (ShopClient) async throws -> T) async throws -> T {
        let app = Application(router: buildRouter(services: services, site: site, context: ShopContext.self))
        return try await app.test(.router) { client in try await body(ShopClient(client: client)) }
    }

    /// Runs `body` against the router on a real socket, with the simulator delivering its webhooks there
    /// whenever the test calls `deliver()`.
    func live<T: Sendable>(_ body: @Sendable (ShopClient) async throws -> T) async throws -> T {
        var logger = Logger(label: "test-server")
        logger.logLevel = .warning
        let app = Application(
            router: buildRouter(services: services, context: ShopContext.self),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in
            simulator.useDefaultWebhookURL("http://127.0.0.1:\(client.port!)/payment/webhook")
            return try await body(ShopClient(client: client))
        }
    }

    /// Delivers every webhook the simulator has due, as `shop serve`'s background delivery would.
    @discardableResult
    func deliver() async -> Int { await WebhookDelivery(gateway: simulator).deliverDue() }

    /// Adds a product straight through the service.
    @discardableResult
    func product(_ name: String = "Tea", price: Int = 500, quantity: Int = 10, category: String = "pantry", currency: String = "USD")
        async throws -> Product
    {
        try await services.catalog.create(
            ProductFields(name: name, description: "", price: price, currency: currency, category: category), quantity: quantity)
    }

    func stock(_ id: String) async throws -> Int? { try await store.product(id: id)?.quantity }
}

/// A response with its body parsed as JSON.
struct Reply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
    var errorDetails: Any? { (json["error"] as? [String: Any])?["details"] }
    subscript(key: String) -> Any? { json[key] }
    func string(_ key: String) -> String { json[key] as? String ?? "" }
    func int(_ key: String) -> Int { json[key] as? Int ?? Int.min }
}

/// Signed-in sessions made during a test.
struct Session: Sendable {
    let userId: String
    let idToken: String
    let accessToken: String
    let refreshToken: String
}

struct ShopClient: Sendable {
    let client: any TestClientProtocol

    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil, headers: HTTPFields = [:]
    ) async throws -> Reply {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        if json != nil { fields[.contentType] = "application/json" }
        let response = try await client.execute(uri: uri, method: method, headers: fields, body: json.map { ByteBuffer(string: $0) })
        let reply = Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
        #expect(reply.headers[HTTPField.Name("X-Request-Id")!] != nil, "every response carries X-Request-Id")
        if reply.status.code >= 400 {
            #expect(reply.errorCode != nil && reply.errorMessage != nil, "error \(reply.status.code) uses the envelope: \(reply.text)")
        }
        return reply
    }

    func register(_ email: String, password: String = "Passw0rd!", name: String = "Shopper") async throws -> Reply {
        try await send(.post, "/auth/register", json: #"{"email":"\#(email)","password":"\#(password)","name":"\#(name)"}"#)
    }

    func login(_ email: String, password: String = "Passw0rd!") async throws -> Reply {
        try await send(.post, "/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"}"#)
    }

    /// Registers and signs in a new shopper.
    func shopper(_ email: String = "shopper-\(UUID().uuidString.prefix(8))@example.com") async throws -> Session {
        let registered = try await register(email)
        #expect(registered.status == .created)
        return try await session(email)
    }

    func session(_ email: String, password: String = "Passw0rd!") async throws -> Session {
        let reply = try await login(email, password: password)
        #expect(reply.status == .ok, "login: \(reply.text)")
        let claims = try decodeClaims(reply.string("idToken"))
        return Session(
            userId: claims["sub"] as? String ?? "", idToken: reply.string("idToken"), accessToken: reply.string("accessToken"),
            refreshToken: reply.string("refreshToken"))
    }

    /// Places an order shipped to `TestShop.oregon` (no sales tax) by `method` (standard: 500, free from 5000).
    func placeOrder(_ lines: [(String, Int)], token: String, key: String? = nil, method: String = "standard") async throws -> Reply {
        let body =
            "{\"lines\":[" + lines.map { #"{"productId":"\#($0.0)","quantity":\#($0.1)}"# }.joined(separator: ",") + "],"
            + #""shippingAddress":\#(TestShop.oregonJSON),"shippingMethodId":"\#(method)"}"#
        var headers: HTTPFields = [:]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await send(.post, "/orders", token: token, json: body, headers: headers)
    }
}

extension TestShop {
    /// An admin account made as `shop admin create` makes it, signed in.
    func admin(_ client: ShopClient, email: String = "admin@example.com") async throws -> Session {
        _ = try await identity.createAdmin(email: email, password: "Adm1nPassword", name: "Admin")
        return try await client.session(email, password: "Adm1nPassword")
    }
}

/// The payload of a JWT, unverified (to look at claims a test expects).
func decodeClaims(_ token: String) throws -> [String: Any] {
    try decodeSegment(token, 1)
}

func decodeSegment(_ token: String, _ index: Int) throws -> [String: Any] {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3 else { throw TestFailure("not a JWT: \(token)") }
    var s = String(parts[index]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.count % 4 != 0 { s += "=" }
    guard let data = Data(base64Encoded: s), let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw TestFailure("bad JWT segment")
    }
    return object
}

func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
        of: "=", with: "")
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
