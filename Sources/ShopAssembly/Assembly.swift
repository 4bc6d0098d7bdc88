import AWSWire
import AsyncHTTPClient
import Crypto
import DynamoDBStore
import Identity
import Logging
import Payments
import S3ImageStore
import ShopAPI
import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a host owns and hands to the assembly: the things only it can open or decide.
public struct HostParts: Sendable {
    /// Stores the host opened itself: the SQLite file for `shop serve`, or a test's. Nil means
    /// "open what the configuration names", which only DynamoDB can be here.
    public var stores: ShopStores?
    /// The host's image files (`shop serve` with `SHOP_IMAGES=local`); nil in a function.
    public var localImages: (any LocalImageFiles)?
    /// The simulated gateway `shop serve` runs (`SHOP_PAYMENTS=simulated`); nil in a function.
    public var simulatedPayments: (any PaymentGateway & PaymentSimulator)?
    public var secrets: ShopSecrets
    /// One HTTP client for every AWS call and JWKS fetch of the process, made when something first asks for it:
    /// a SQLite `shop serve` with local identity, images and simulated payments never does.
    public var httpClient: HTTPClient { makeHTTPClient() }
    let makeHTTPClient: @Sendable () -> HTTPClient
    public var clock: WallClock
    public var logger: Logger

    public init(
        stores: ShopStores? = nil, localImages: (any LocalImageFiles)? = nil,
        simulatedPayments: (any PaymentGateway & PaymentSimulator)? = nil, secrets: ShopSecrets,
        httpClient: @autoclosure @escaping @Sendable () -> HTTPClient = .shared, clock: WallClock = .system, logger: Logger
    ) {
        self.stores = stores
        self.localImages = localImages
        self.simulatedPayments = simulatedPayments
        self.secrets = secrets
        self.makeHTTPClient = httpClient
        self.clock = clock
        self.logger = logger
    }
}

/// What the assembly built: the services the router serves, plus the parts a host's commands use.
public struct Assembled: Sendable {
    public var services: ShopServices
    public var stores: ShopStores
}

/// The composition root: every host (`shop serve` and its commands, the Lambda functions, the
/// API tests) turns its configuration and what it owns into `ShopServices` here, and nowhere else.
public enum ShopAssembly {
    public static func assemble(_ configuration: ShopConfiguration, host: HostParts) async throws -> Assembled {
        let stores = try host.stores ?? openStores(configuration, host: host)
        let logger = host.logger

        let identity: any IdentityProvider
        let verifier: TokenVerifier
        var jwksJSON: String?
        switch configuration.identity {
        case .local(let local):
            guard let signingKey = host.secrets.tokenSigningKey else {
                throw ShopConfiguration.Invalid(
                    description:
                        "SHOP_IDENTITY=local needs the token-signing key (SHOP_TOKEN_SIGNING_KEY_PEM in a function; keys/token-signing.pem for shop serve)"
                )
            }
            let issuer = await LocalTokenIssuer(
                key: signingKey, issuer: local.issuer, clientId: local.clientId, lifetime: .seconds(local.tokenTTLSeconds))
            identity = LocalIdentityProvider(users: stores.users, issuer: issuer, bcryptCost: UInt8(local.bcryptCost), clock: host.clock)
            verifier = TokenVerifier(
                policy: TokenPolicy(issuer: local.issuer, clientId: local.clientId), source: .keySet(signingKey.jwksJSON),
                clock: host.clock, logger: logger)
            jwksJSON = signingKey.jwksJSON
        case .cognito(let cognito):
            identity = CognitoIdentityProvider(
                client: AWSJSONClient.cognitoIdentityProvider(
                    httpClient: host.httpClient, region: cognito.aws.region, credentials: cognito.aws.credentials,
                    endpoint: cognito.endpoint, clock: host.clock, logger: logger),
                userPoolId: cognito.userPoolId, clientId: cognito.clientId, logger: logger)
            verifier = TokenVerifier(
                policy: TokenPolicy(issuer: cognito.issuer, clientId: cognito.clientId),
                source: .url(cognito.jwksURL, host.httpClient), clock: host.clock, logger: logger)
            // Keys are fetched before the first request, not by it: no 401 while the first fetch runs.
            let keys = await verifier.preload()
            logger.info("JWKS loaded", metadata: ["keys": "\(keys)", "url": "\(cognito.jwksURL)"])
        }

        let images: (any ImageStore)?
        switch configuration.images {
        case .s3(let s3):
            images = S3ImageStore(
                client: AWSSender(
                    httpClient: host.httpClient, region: s3.aws.region, service: "s3", credentials: s3.aws.credentials,
                    clock: host.clock, logger: logger),
                bucket: s3.bucket, endpoint: s3.endpoint, publicBaseURL: s3.publicBaseURL, clock: host.clock)
        case .local:
            images = host.localImages
        }

        let gateway: any PaymentGateway
        var simulator: (any PaymentSimulator)?
        switch configuration.payments {
        case .stripe(let stripe):
            gateway = StripeGateway(
                httpClient: host.httpClient, secretKey: stripe.secretKey.value, publishableKey: stripe.publishableKey,
                webhookSecret: stripe.webhookSecret.value, apiBase: stripe.apiBase, clock: host.clock, logger: logger)
        case .simulated:
            guard let simulated = host.simulatedPayments else {
                throw ShopConfiguration.Invalid(
                    description:
                        "SHOP_PAYMENTS=simulated runs only inside shop serve (a function cannot deliver webhooks after it answers); set SHOP_PAYMENTS=stripe"
                )
            }
            gateway = simulated
            simulator = simulated
        case .none:
            gateway = NoPaymentGateway()
        }
        let payments = PaymentService(store: stores.orders, gateway: gateway, clock: host.clock, logger: logger)

        let settings = SettingsService(store: stores.settings, clock: host.clock)
        let addresses = AddressService(store: stores.addresses, clock: host.clock)
        var orders = OrderService(
            orders: stores.orders, catalog: stores.catalog, clock: host.clock, ttl: .seconds(configuration.orderTTLSeconds),
            settlement: payments)
        orders.settingsService = settings
        orders.addressBook = addresses
        let services = ShopServices(
            catalog: CatalogService(store: stores.catalog, clock: host.clock),
            orders: orders,
            identity: identity, verifier: verifier, cursors: CursorCodec(secret: cursorKey(host.secrets.cursorSecret)),
            jwksJSON: jwksJSON, images: ImageService(catalog: stores.catalog, images: images, clock: host.clock),
            localImages: configuration.images == .local ? host.localImages : nil, payments: payments, simulator: simulator,
            settings: settings, addresses: addresses,
            events: EventService(
                outbox: stores.outbox, orders: stores.orders, stats: stores.stats, policy: try outboxPolicy(configuration, host: host),
                clock: host.clock,
                logger: logger),
            stats: StatsService(store: stores.stats, clock: host.clock, lowStockBelow: configuration.lowStockBelow))
        var limited = services
        limited.orders.maxOpenOrders = configuration.maxOpenOrders > 0 ? configuration.maxOpenOrders : nil
        limited.orders.maxUnitsPerLine = configuration.maxUnitsPerLine
        limited.publicURL = configuration.publicURL
        limited.limits = AbuseLimits.signIn(
            perAddressPerMinute: configuration.authRateLimitPerMinute, failedPerMinute: configuration.loginAccountRateLimitPerMinute,
            trustedProxies: configuration.trustForwardedFor ? configuration.trustedProxies : [], clock: host.clock)
        return Assembled(services: limited, stores: stores)
    }

    /// What order events send under `configuration`: its mailer and its webhook.
    static func outboxPolicy(_ configuration: ShopConfiguration, host: HostParts) throws -> OutboxPolicy {
        let events = configuration.events
        var policy = OutboxPolicy()
        policy.mailRetryBase = .seconds(events.mailRetryBaseSeconds)
        policy.webhookRetryBase = .seconds(events.webhookRetryBaseSeconds)
        if let url = events.webhookURL, let secret = events.webhookSecret {
            policy.webhook = HTTPEventWebhook(httpClient: host.httpClient, url: url, secret: Array(secret.value.utf8), clock: host.clock)
        }
        policy.mailer = try mailer(configuration, host: host)
        return policy
    }

    /// The stores the configuration names, for a host that did not open its own.
    public static func openStores(_ configuration: ShopConfiguration, host: HostParts) throws -> ShopStores {
        switch configuration.store {
        case .sqlite:
            throw ShopConfiguration.Invalid(
                description: "SHOP_STORE=sqlite: the embedded store is not in this binary; use SHOP_STORE=dynamodb")
        case .dynamodb(let settings):
            return ShopStores(dynamoDB(settings, httpClient: host.httpClient, clock: host.clock, logger: host.logger))
        }
    }

    /// The DynamoDB store of `settings` (also what `shop aws create-tables` creates tables with).
    public static func dynamoDB(
        _ settings: ShopConfiguration.DynamoDBSettings, httpClient: HTTPClient, clock: WallClock = .system, logger: Logger
    ) -> DynamoDBStore {
        DynamoDBStore(
            client: AWSJSONClient.dynamoDB(
                httpClient: httpClient, region: settings.aws.region, credentials: settings.aws.credentials,
                endpoint: settings.endpoint, clock: clock, logger: logger),
            tables: settings.tables)
    }

    /// Page cursors are signed with a key derived from the host's cursor secret, the same way in every host,
    /// so every function reads the cursors the others write.
    static func cursorKey(_ secret: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array("serverlessshop-cursor".utf8), using: SymmetricKey(data: secret)))
    }
}

/// Payments are not configured in this function (`SHOP_PAYMENTS=none`: products, auth): every call fails.
/// It names Stripe as its provider because a deployment's payments are Stripe's; this function only lacks the key.
struct NoPaymentGateway: PaymentGateway {
    let provider = PaymentProvider.stripe
    let publishableKey: String? = nil
    static let refusal = PaymentError.configuration("payments are not configured in this function (SHOP_PAYMENTS=none)")

    func createPayment(orderId: String, amount: Int, currency: String, shipping: Address?, idempotencyKey: String)
        async throws(PaymentError) -> GatewayPayment
    {
        throw Self.refusal
    }
    func retrievePayment(id: String) async throws(PaymentError) -> GatewayPayment { throw Self.refusal }
    func cancelPayment(id: String) async throws(PaymentError) -> GatewayPayment { throw Self.refusal }
    func refund(paymentId: String, amount: Int?, idempotencyKey: String) async throws(PaymentError) -> GatewayRefund { throw Self.refusal }
    let webhookSignature: WebhookSignature? = nil
}
