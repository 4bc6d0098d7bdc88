import AWSWire
import AsyncHTTPClient
import DynamoDBStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ShopAPI
import ShopAssembly
import ShopDomain
import ShopStorage
import TestServices
import Testing

/// The shop on DynamoDB (moto) with the fault proxy in between, built through the composition root.
/// `direct` reads the same tables straight from moto, to count what was really applied.
struct ProxiedShop {
    let proxy: DynamoDBFaultProxy
    let services: ShopServices
    let direct: DynamoDBStore

    static func configuration(endpoint: String, prefix: String) throws -> ShopConfiguration {
        try ShopConfiguration(environment: [
            "SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "SHOP_DYNAMODB_PRODUCTS_TABLE": prefix + "Products", "SHOP_DYNAMODB_ORDERS_TABLE": prefix + "Orders",
            "SHOP_DYNAMODB_IDEMPOTENCY_TABLE": prefix + "Idempotency", "SHOP_DYNAMODB_USERS_TABLE": prefix + "Users",
            "SHOP_TOKEN_ISSUER": TestShop.issuer, "SHOP_CLIENT_ID": TestShop.clientId, "SHOP_BCRYPT_COST": "4",
            "SHOP_MAX_OPEN_ORDERS": "0",
        ])
    }

    static func store(_ configuration: ShopConfiguration) throws -> DynamoDBStore {
        guard case .dynamodb(let settings) = configuration.store else { throw TestFailure("not dynamodb") }
        return ShopAssembly.dynamoDB(settings, httpClient: .shared, logger: Logger(label: "test"))
    }

    static func run(_ body: @Sendable @escaping (ProxiedShop, ShopClient) async throws -> Void) async throws {
        let moto = try TestService.moto.endpoint
        let prefix = "x" + UUID().uuidString.prefix(8).lowercased() + "-"
        let direct = try store(try configuration(endpoint: moto, prefix: prefix))
        try await direct.createTables()
        let proxy = DynamoDBFaultProxy(upstream: moto)
        try await proxy.run { endpoint in
            let configuration = try configuration(endpoint: endpoint, prefix: prefix)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proxied-\(UUID().uuidString)").path
            let host = HostParts(
                stores: ShopStores(try store(configuration)), simulatedPayments: try TestShop.simulator(in: dir),
                secrets: ShopSecrets(cursorSecret: Array("test-cursor-secret".utf8), tokenSigningKey: TestShop.signingKey),
                logger: Logger(label: "test"))
            let services = try await ShopAssembly.assemble(configuration, host: host).services
            let shop = ProxiedShop(proxy: proxy, services: services, direct: direct)
            let app = Application(router: buildRouter(services: services, context: ShopContext.self))
            try await app.test(.router) { client in try await body(shop, ShopClient(client: client)) }
        }
    }

    func product(quantity: Int) async throws -> Product {
        try await services.catalog.create(
            ProductFields(name: "Hot item", description: "", price: 700, currency: "USD", category: "hot"), quantity: quantity)
    }

    func stock(_ id: String) async throws -> Int? { try await direct.product(id: id)?.quantity }

    func admin(_ c: ShopClient) async throws -> Session {
        let email = "admin-\(UUID().uuidString.prefix(6))@example.com"
        _ = try await services.identity.createAdmin(email: email, password: "Adm1nPassword", name: "Admin")
        return try await c.session(email, password: "Adm1nPassword")
    }
}

/// Writes that are not safe to repeat, under lost answers, 500s after applying and transaction conflicts:
/// each applies exactly once and the client sees the answer of the write that happened.
@Suite("Exactly once on DynamoDB (fault proxy over moto)")
struct ExactlyOnceTests {
    static let afterApplying: [DynamoDBFaultProxy.Fault] = [.dropAnswer, .fail500AfterApplying]

    @Test(arguments: afterApplying)
    func stockAdjustmentAppliesOnce(_ fault: DynamoDBFaultProxy.Fault) async throws {
        try await ProxiedShop.run { shop, c in
            let admin = try await shop.admin(c)
            let product = try await shop.product(quantity: 10)
            shop.proxy.inject(fault, on: "TransactWriteItems")
            let reply = try await c.send(.post, "/products/\(product.id)/stock", token: admin.accessToken, json: #"{"delta":5}"#)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.int("quantity") == 15)
            #expect(try await shop.stock(product.id) == 15, "the delta was added once")
            #expect(shop.proxy.tokenReplays == 1, "the retry carried the same token and was answered, not applied")
        }
    }

    @Test(arguments: afterApplying)
    func orderPlacementAppliesOnce(_ fault: DynamoDBFaultProxy.Fault) async throws {
        try await ProxiedShop.run { shop, c in
            let shopper = try await c.shopper()
            let product = try await shop.product(quantity: 10)

            shop.proxy.inject(fault, on: "TransactWriteItems")
            let keyed = try await c.placeOrder([(product.id, 2)], token: shopper.accessToken, key: "order-1")
            #expect(keyed.status == .created, "\(keyed.text)")
            #expect(try await shop.stock(product.id) == 8)

            shop.proxy.inject(fault, on: "TransactWriteItems")
            let unkeyed = try await c.placeOrder([(product.id, 3)], token: shopper.accessToken)
            #expect(unkeyed.status == .created, "without an Idempotency-Key too: \(unkeyed.text)")
            #expect(try await shop.stock(product.id) == 5, "each order took its stock once")

            let mine = try await c.send(.get, "/orders", token: shopper.accessToken)
            #expect(Set(mine.items.compactMap { $0["id"] as? String }) == [keyed.string("id"), unkeyed.string("id")])
            #expect(shop.proxy.tokenReplays == 2)
        }
    }

    @Test(arguments: afterApplying)
    func registrationAppliesOnce(_ fault: DynamoDBFaultProxy.Fault) async throws {
        try await ProxiedShop.run { shop, c in
            shop.proxy.inject(fault, on: "TransactWriteItems")
            let registered = try await c.register("once@example.com")
            #expect(registered.status == .created, "a registration that went through is not 'email taken': \(registered.text)")
            #expect(try await c.login("once@example.com").status == .ok)
            #expect(try await c.register("once@example.com").status == .conflict, "a second registration really is taken")
        }
    }

    @Test(arguments: afterApplying)
    func cancelAppliesOnce(_ fault: DynamoDBFaultProxy.Fault) async throws {
        try await ProxiedShop.run { shop, c in
            let shopper = try await c.shopper()
            let product = try await shop.product(quantity: 10)
            let order = try await c.placeOrder([(product.id, 3)], token: shopper.accessToken)
            #expect(try await shop.stock(product.id) == 7)
            shop.proxy.inject(fault, on: "TransactWriteItems")
            let cancelled = try await c.send(.post, "/orders/\(order.string("id"))/cancel", token: shopper.accessToken)
            #expect(cancelled.status == .ok, "a cancel that went through is not a 409: \(cancelled.text)")
            #expect(cancelled.string("status") == "CANCELLED")
            #expect(try await shop.stock(product.id) == 10, "the stock came back once")
        }
    }

    @Test func concurrentCancelsNeverShareAToken() async throws {
        try await ProxiedShop.run { shop, c in
            let admin = try await shop.admin(c)
            let shopper = try await c.shopper()
            let product = try await shop.product(quantity: 10)
            for _ in 0..<5 {
                let order = try await c.placeOrder([(product.id, 2)], token: shopper.accessToken)
                let id = order.string("id")
                let before = shop.proxy.forwarded.count
                async let a = c.send(.post, "/orders/\(id)/cancel", token: shopper.accessToken)
                async let b = c.send(.post, "/orders/\(id)/cancel", token: admin.accessToken)
                let statuses = [try await a.status, try await b.status].map(\.code).sorted()
                #expect(statuses == [200, 409], "one cancel wins, the other sees the order already cancelled")
                let tokens = shop.proxy.forwarded.dropFirst(before).filter { $0.operation == "TransactWriteItems" }.compactMap(\.token)
                #expect(Set(tokens).count == tokens.count, "every transaction attempt has its own token")
            }
            #expect(try await shop.stock(product.id) == 10, "each order's stock came back exactly once")
        }
    }

    @Test func transactionConflictsAreRetriedThenBusy() async throws {
        try await ProxiedShop.run { shop, c in
            let admin = try await shop.admin(c)
            let shopper = try await c.shopper()
            let product = try await shop.product(quantity: 10)

            // A few conflicts: retried with backoff, the shopper never notices.
            shop.proxy.inject(.conflict, on: "TransactWriteItems", times: 2)
            #expect(try await c.placeOrder([(product.id, 1)], token: shopper.accessToken).status == .created)
            #expect(try await shop.stock(product.id) == 9)

            // Conflicts that outlast every attempt: 503 busy with Retry-After, never a 500, nothing changed.
            shop.proxy.inject(.conflict, on: "TransactWriteItems", times: 6)
            let busy = try await c.placeOrder([(product.id, 1)], token: shopper.accessToken)
            #expect(busy.status == .serviceUnavailable)
            #expect(busy.errorCode == "busy")
            #expect(busy.headers[.retryAfter] == "1")
            #expect(try await shop.stock(product.id) == 9)

            shop.proxy.inject(.conflict, on: "TransactWriteItems", times: 6)
            let stock = try await c.send(.post, "/products/\(product.id)/stock", token: admin.accessToken, json: #"{"delta":1}"#)
            #expect(stock.status == .serviceUnavailable)
            #expect(stock.errorCode == "busy")
            #expect(try await shop.stock(product.id) == 9)

            let order = try await c.placeOrder([(product.id, 1)], token: shopper.accessToken)
            shop.proxy.inject(.conflict, on: "TransactWriteItems", times: 6)
            let cancel = try await c.send(.post, "/orders/\(order.string("id"))/cancel", token: shopper.accessToken)
            #expect(cancel.status == .serviceUnavailable)
            #expect(cancel.errorCode == "busy")
            #expect(
                try await c.send(.get, "/orders/\(order.string("id"))", token: shopper.accessToken).string("status") == "PENDING_PAYMENT")
        }
    }
}

@Suite("Order listings on DynamoDB")
struct DynamoDBListingTests {
    @Test func aFilteredPageIsAtMostThreeQueries() async throws {
        try await ProxiedShop.run { shop, c in
            let shopper = try await c.shopper()
            let product = try await shop.product(quantity: 100)
            var cancelled: [String] = []
            for i in 0..<30 {
                let order = try await c.placeOrder([(product.id, 1)], token: shopper.accessToken)
                if i % 10 == 0 {
                    #expect(try await c.send(.post, "/orders/\(order.string("id"))/cancel", token: shopper.accessToken).status == .ok)
                    cancelled.append(order.string("id"))
                }
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let before = shop.proxy.forwarded.filter { $0.operation == "Query" }.count
                let page = try await c.send(
                    .get, "/orders?status=CANCELLED&limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), token: shopper.accessToken)
                let queries = shop.proxy.forwarded.filter { $0.operation == "Query" }.count - before
                #expect(queries <= 3, "one filtered page cost \(queries) queries")
                seen += page.items.compactMap { $0["id"] as? String }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            #expect(seen == cancelled.reversed(), "newest first, every cancelled order, nothing else")
            let paid = try await c.send(.get, "/orders?status=PAID", token: shopper.accessToken)
            #expect(paid.items.isEmpty)
        }
    }
}
