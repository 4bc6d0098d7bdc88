import AWSWire
import DynamoDBStore
import Logging
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one configuration type, parsed once from the environment a host hands over (a `shop` flag
/// is passed in as the variable it overrides). No other module reads the process environment.
/// Every variable is listed, with its default, in the README.
///
/// Each backend is an enum case that carries its own settings, so a setting that a backend needs
/// is never optional, and a host cannot be configured half way.
public struct ShopConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// `SHOP_DATA_DIR`: the SQLite file and the local secrets (`keys/`) of `shop serve`.
    public var dataDirectory: String
    public var orderTTLSeconds: Int
    public var seedDemoCatalog: Bool
    public var sweepIntervalSeconds: Int
    public var logLevel: Logger.Level
    public var store: StoreSettings
    public var identity: IdentitySettings
    public var images: ImageSettings
    public var payments: PaymentSettings
    /// What a Lambda function serves (`_HANDLER`) and whether it trusts API Gateway's authorizer.
    public var function: FunctionSettings
    /// Sign-in requests a minute per client address (`SHOP_AUTH_RATE_LIMIT_PER_MINUTE`; 0: off).
    public var authRateLimitPerMinute: Int
    /// Failed logins a minute per account and client address (`SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE`; 0: off).
    public var loginAccountRateLimitPerMinute: Int
    /// `SHOP_TRUST_FORWARDED_FOR`: behind a proxy in `trustedProxies`, the client address is the right-most
    /// `X-Forwarded-For` entry that is not itself a trusted proxy.
    public var trustForwardedFor: Bool
    /// `SHOP_PUBLIC_URL`: the store's public address (scheme, host, optional port; no trailing slash), the base of
    /// every absolute URL the server makes (local upload URLs, the local token issuer's default).
    public var publicURL: String?
    /// `SHOP_TRUSTED_PROXIES`: comma-separated CIDR blocks of the proxies whose `X-Forwarded-For` is believed.
    public var trustedProxies: [CIDRBlock]
    /// `SHOP_MAX_OPEN_ORDERS`: orders a shopper may have waiting for payment at once (0: no limit).
    public var maxOpenOrders: Int
    /// `SHOP_MAX_UNITS_PER_LINE`: units of one product in one order.
    public var maxUnitsPerLine: Int
    /// `SHOP_LOW_STOCK`: the merchant's dashboard lists products with fewer units than this.
    public var lowStockBelow: Int
    /// The website `shop serve` serves, and who may call the API from other origins.
    public var web: WebSettings
    /// What order events send: emails to shoppers, the merchant's webhook (docs/EVENTS.md).
    public var events: EventsSettings
    /// `SHOP_METRICS_ADDRESS`: where `shop serve` answers `GET /metrics` (Prometheus's text format), on a listener of its
    /// own; nil (`off`, the default) for none. Functions ignore it: they write CloudWatch's embedded metric format.
    public var metricsAddress: ListenAddress?

    /// A `host:port` to listen on; port 0 picks a free one.
    public struct ListenAddress: Sendable, Equatable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public struct EventsSettings: Sendable, Equatable {
        public enum Mail: Sendable, Equatable {
            /// No emails (the events are still written and shown).
            case off
            /// Each message as an `.eml` file under `DATA_DIR/mail/` (shop serve's default).
            case file
            case smtp(SMTPSettings)
            /// SES v2 `SendEmail` with raw MIME.
            case ses(SESSettings)
        }
        public var mail: Mail
        /// `SHOP_MAIL_FROM`.
        public var mailFrom: String
        /// `SHOP_WEB_URL`: the website's origin, for links in emails (on AWS the site is not where the API is).
        public var webURL: String
        /// `SHOP_MAIL_TEMPLATES_DIR`: templates that replace the built-in ones.
        public var templatesDirectory: String?
        public var mailRetryBaseSeconds: Int
        /// `SHOP_EVENTS_WEBHOOK_URL` and `SHOP_EVENTS_WEBHOOK_SECRET`: every event is POSTed there, signed.
        public var webhookURL: String?
        public var webhookSecret: Secret?
        public var webhookRetryBaseSeconds: Int
        /// `SHOP_EVENT_BUS_NAME`: the EventBridge bus the `events` function (and the sweep) put events on.
        public var bus: EventBusSettings?
    }

    public struct EventBusSettings: Sendable, Equatable {
        public var aws: AWSAccess
        public var name: String
        /// `SHOP_EVENTBRIDGE_ENDPOINT` (moto), else the region's.
        public var endpoint: String
    }

    public struct SMTPSettings: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var username: String?
        public var password: Secret?
        /// STARTTLS is required unless `SHOP_SMTP_TLS=off` (a server on loopback).
        public var tlsRequired: Bool
        /// `SHOP_SMTP_CA_FILE`: the CA (PEM) to verify the server's certificate against, instead of the system's.
        public var caFile: String?
    }

    public struct SESSettings: Sendable, Equatable {
        public var aws: AWSAccess
        /// `SHOP_SES_ENDPOINT` (moto), else the region's.
        public var endpoint: String
    }

    public struct WebSettings: Sendable, Equatable {
        /// `SHOP_WEB_DIR`: the static files served at `/` (default `./web`).
        public var directory: String
        /// Whether `directory` was asked for: then its absence is an error, not "serve the API only".
        public var directoryRequired: Bool
        /// `SHOP_CORS_ORIGINS`: comma-separated origins (`http://localhost:5173`) whose pages may call the API; none by default.
        public var corsOrigins: [String]
        /// `SHOP_STRIPE_JS_URL`: where the pages load Stripe.js from in Stripe mode, named in the CSP
        /// (default `https://js.stripe.com/v3/`; localstripe's copy in tests). It must match `web/config.js`.
        public var stripeJSURL: String

        public init(directory: String, directoryRequired: Bool, corsOrigins: [String], stripeJSURL: String) {
            self.directory = directory
            self.directoryRequired = directoryRequired
            self.corsOrigins = corsOrigins
            self.stripeJSURL = stripeJSURL
        }
    }

    /// Where products, orders and local users live (`SHOP_STORE`).
    public enum StoreSettings: Sendable, Equatable {
        /// The embedded store: `shop.sqlite` in this directory. Opened by the host that links SQLite.
        case sqlite(directory: String)
        case dynamodb(DynamoDBSettings)
    }

    /// Who signs users in (`SHOP_IDENTITY`).
    public enum IdentitySettings: Sendable, Equatable {
        /// bcrypt passwords and RS256 tokens signed by this server (the key comes from the host's secrets).
        case local(LocalIdentitySettings)
        case cognito(CognitoSettings)
    }

    /// Where product images live (`SHOP_IMAGES`).
    public enum ImageSettings: Sendable, Equatable {
        /// Files the host keeps (`shop serve`); a Lambda function has none and refuses uploads.
        case local
        case s3(S3Settings)
    }

    /// Who takes the money (`SHOP_PAYMENTS`).
    public enum PaymentSettings: Sendable, Equatable {
        /// Stripe's test mode imitated in-process by `shop serve` (functions refuse it: they cannot deliver
        /// webhooks after answering).
        case simulated(SimulatorSettings)
        case stripe(StripeSettings)
        /// A Lambda function that never takes or returns money (products, auth): it holds no Stripe key,
        /// and any payment call fails. The SAM template sets this, so those functions cannot read the Stripe secret.
        case none

        public var provider: String {
            switch self {
            case .simulated: "simulated"
            case .stripe: "stripe"
            case .none: "none"
            }
        }
    }

    public struct SimulatorSettings: Sendable, Equatable {
        /// `SHOP_PAYMENTS_WEBHOOK_SECRET`; nil: `shop serve` generates one into `keys/`.
        public var webhookSecret: Secret?
        /// `SHOP_PAYMENTS_WEBHOOK_URL`; nil: the server's own `/payment/webhook`.
        public var webhookURL: String?

        public init(webhookSecret: Secret?, webhookURL: String?) {
            self.webhookSecret = webhookSecret
            self.webhookURL = webhookURL
        }
    }

    public struct StripeSettings: Sendable, Equatable {
        public var secretKey: Secret
        public var publishableKey: String?
        /// `SHOP_STRIPE_API_BASE` (localstripe in tests), else `https://api.stripe.com`.
        public var apiBase: String
        /// The endpoint's signing secret (`whsec_...`).
        public var webhookSecret: Secret

        public init(secretKey: Secret, publishableKey: String?, apiBase: String, webhookSecret: Secret) {
            self.secretKey = secretKey
            self.publishableKey = publishableKey
            self.apiBase = apiBase
            self.webhookSecret = webhookSecret
        }
    }

    /// A secret setting: its description never shows the value, so a configuration printed by accident leaks nothing.
    public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        public let value: String
        public init(_ value: String) { self.value = value }
        public var description: String { "<redacted>" }
        public var debugDescription: String { "<redacted>" }
    }

    /// The region and credentials every AWS backend signs with.
    public struct AWSAccess: Sendable, Equatable {
        public var region: String
        public var credentials: AWSCredentials
        public init(region: String, credentials: AWSCredentials) {
            self.region = region
            self.credentials = credentials
        }
    }

    public struct DynamoDBSettings: Sendable, Equatable {
        public var aws: AWSAccess
        /// The regional endpoint, or `SHOP_DYNAMODB_ENDPOINT` (moto, DynamoDB Local).
        public var endpoint: String
        public var tables: DynamoDBTableNames
    }

    public struct LocalIdentitySettings: Sendable, Equatable {
        /// `iss` of the tokens: `SHOP_TOKEN_ISSUER`, else `http://HOST:PORT`.
        public var issuer: String
        /// `aud` of id tokens and `client_id` of access tokens.
        public var clientId: String
        public var tokenTTLSeconds: Int
        public var bcryptCost: Int

        public init(issuer: String, clientId: String, tokenTTLSeconds: Int, bcryptCost: Int) {
            self.issuer = issuer
            self.clientId = clientId
            self.tokenTTLSeconds = tokenTTLSeconds
            self.bcryptCost = bcryptCost
        }
    }

    public struct CognitoSettings: Sendable, Equatable {
        public var aws: AWSAccess
        public var userPoolId: String
        /// An app client without a secret.
        public var clientId: String
        /// The region's Cognito IDP endpoint, or `SHOP_COGNITO_ENDPOINT` (moto).
        public var endpoint: String
        /// `SHOP_COGNITO_JWKS_URL`, else the issuer's `/.well-known/jwks.json`.
        public var jwksURL: String
        /// The `iss` Cognito puts in the pool's tokens.
        public var issuer: String { "https://cognito-idp.\(aws.region).amazonaws.com/\(userPoolId)" }
    }

    public struct S3Settings: Sendable, Equatable {
        public var aws: AWSAccess
        public var bucket: String
        /// `SHOP_S3_ENDPOINT` (moto; path-style URLs then); nil for AWS's virtual-hosted URLs.
        public var endpoint: String?
        /// `SHOP_IMAGE_BASE_URL`: where shoppers load images from; nil for the bucket's URL.
        public var publicBaseURL: String?
    }

    public struct FunctionSettings: Sendable, Equatable {
        /// `_HANDLER`, as Lambda sets it; nil outside Lambda.
        public var handler: String?
        /// `SHOP_TRUST_AUTHORIZER_CLAIMS`: take the caller from the claims API Gateway's JWT authorizer
        /// verified. Off by default; on only where the authorizer is attached (the SAM template does that).
        public var trustAuthorizerClaims: Bool

        public init(handler: String?, trustAuthorizerClaims: Bool) {
            self.handler = handler
            self.trustAuthorizerClaims = trustAuthorizerClaims
        }
    }

    /// A setting that could not be read, named with its variable.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The issuer tokens must carry: the Cognito pool's, or the local issuer's.
    public var effectiveIssuer: String {
        switch identity {
        case .local(let local): local.issuer
        case .cognito(let cognito): cognito.issuer
        }
    }

    /// The embedded defaults, as `shop serve` runs with no variable set.
    public init() {
        try! self.init(environment: [:])
    }

    /// Reads the `SHOP_*` variables (and `AWS_*`, `_HANDLER`) from `environment`.
    public init(environment: [String: String]) throws {
        let reader = EnvironmentReader(environment: environment)
        host = reader.string("SHOP_HOST") ?? "127.0.0.1"
        port = try reader.int("SHOP_PORT", 0...65535) ?? 8080
        dataDirectory = reader.string("SHOP_DATA_DIR") ?? "./data"
        orderTTLSeconds = try reader.int("SHOP_ORDER_TTL_SECONDS", 1...(30 * 24 * 3600)) ?? 900
        seedDemoCatalog = try reader.bool("SHOP_SEED") ?? true
        sweepIntervalSeconds = try reader.int("SHOP_SWEEP_INTERVAL_SECONDS", 1...86_400) ?? 30
        logLevel = try reader.choice("SHOP_LOG_LEVEL", Logger.Level.allCases.map(\.rawValue)).flatMap(Logger.Level.init(rawValue:)) ?? .info
        authRateLimitPerMinute = try reader.int("SHOP_AUTH_RATE_LIMIT_PER_MINUTE", 0...100_000) ?? 20
        loginAccountRateLimitPerMinute = try reader.int("SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE", 0...100_000) ?? 10
        trustForwardedFor = try reader.bool("SHOP_TRUST_FORWARDED_FOR") ?? false
        trustedProxies = try reader.cidrBlocks("SHOP_TRUSTED_PROXIES")
        publicURL = try reader.url("SHOP_PUBLIC_URL").map(Self.withoutTrailingSlash)
        if trustForwardedFor && trustedProxies.isEmpty {
            throw Invalid(
                description: "SHOP_TRUST_FORWARDED_FOR=true needs SHOP_TRUSTED_PROXIES: the CIDR blocks of your proxies "
                    + "(for example SHOP_TRUSTED_PROXIES=10.0.0.0/8,fd00::/8); without it any client could choose its own address")
        }
        metricsAddress = try reader.listenAddress("SHOP_METRICS_ADDRESS")
        maxOpenOrders = try reader.int("SHOP_MAX_OPEN_ORDERS", 0...1_000) ?? 3
        maxUnitsPerLine = try reader.int("SHOP_MAX_UNITS_PER_LINE", 1...1_000) ?? 20
        lowStockBelow = try reader.int("SHOP_LOW_STOCK", 0...1_000_000) ?? 5
        web = WebSettings(
            directory: reader.string("SHOP_WEB_DIR") ?? "./web", directoryRequired: reader.string("SHOP_WEB_DIR") != nil,
            corsOrigins: try reader.origins("SHOP_CORS_ORIGINS"),
            stripeJSURL: try reader.url("SHOP_STRIPE_JS_URL") ?? "https://js.stripe.com/v3/")
        function = FunctionSettings(
            handler: reader.string("_HANDLER"), trustAuthorizerClaims: try reader.bool("SHOP_TRUST_AUTHORIZER_CLAIMS") ?? false)
        events = try Self.events(
            reader, inFunction: reader.string("AWS_LAMBDA_RUNTIME_API") != nil, defaultWebURL: publicURL ?? "http://\(host):\(port)")

        switch try reader.choice("SHOP_STORE", ["sqlite", "dynamodb"]) ?? "sqlite" {
        case "dynamodb":
            let aws = try reader.aws()
            store = .dynamodb(
                DynamoDBSettings(
                    aws: aws, endpoint: try reader.endpoint("SHOP_DYNAMODB_ENDPOINT", service: "dynamodb", region: aws.region),
                    tables: DynamoDBTableNames(
                        products: reader.string("SHOP_DYNAMODB_PRODUCTS_TABLE") ?? "Products",
                        orders: reader.string("SHOP_DYNAMODB_ORDERS_TABLE") ?? "Orders",
                        idempotency: reader.string("SHOP_DYNAMODB_IDEMPOTENCY_TABLE") ?? "Idempotency",
                        users: reader.string("SHOP_DYNAMODB_USERS_TABLE") ?? "Users",
                        payments: reader.string("SHOP_DYNAMODB_PAYMENTS_TABLE") ?? "Payments",
                        paymentEvents: reader.string("SHOP_DYNAMODB_PAYMENT_EVENTS_TABLE") ?? "PaymentEvents",
                        settings: reader.string("SHOP_DYNAMODB_SETTINGS_TABLE") ?? "Settings",
                        addresses: reader.string("SHOP_DYNAMODB_ADDRESSES_TABLE") ?? "Addresses",
                        events: reader.string("SHOP_DYNAMODB_EVENTS_TABLE") ?? "Events",
                        stats: reader.string("SHOP_DYNAMODB_STATS_TABLE") ?? "Stats")))
        default:
            store = .sqlite(directory: dataDirectory)
        }

        switch try reader.choice("SHOP_IDENTITY", ["local", "cognito"]) ?? "local" {
        case "cognito":
            let aws = try reader.aws()
            let pool = try reader.required("SHOP_COGNITO_USER_POOL_ID", because: "SHOP_IDENTITY=cognito")
            var cognito = CognitoSettings(
                aws: aws, userPoolId: pool, clientId: try reader.required("SHOP_COGNITO_CLIENT_ID", because: "SHOP_IDENTITY=cognito"),
                endpoint: try reader.endpoint("SHOP_COGNITO_ENDPOINT", service: "cognito-idp", region: aws.region), jwksURL: "")
            cognito.jwksURL = try reader.url("SHOP_COGNITO_JWKS_URL") ?? cognito.issuer + "/.well-known/jwks.json"
            identity = .cognito(cognito)
        default:
            identity = .local(
                LocalIdentitySettings(
                    issuer: reader.string("SHOP_TOKEN_ISSUER") ?? publicURL ?? "http://\(host):\(port)",
                    clientId: reader.string("SHOP_CLIENT_ID") ?? "serverlessshop-local",
                    tokenTTLSeconds: try reader.int("SHOP_TOKEN_TTL_SECONDS", 60...86_400) ?? 3600,
                    bcryptCost: try reader.int("SHOP_BCRYPT_COST", 4...31) ?? 12))
        }

        switch try reader.choice("SHOP_PAYMENTS", ["simulated", "stripe", "none"]) ?? "simulated" {
        case "none":
            payments = .none
        case "stripe":
            payments = .stripe(
                StripeSettings(
                    secretKey: Secret(try reader.required("SHOP_STRIPE_SECRET_KEY", because: "SHOP_PAYMENTS=stripe")),
                    publishableKey: reader.string("SHOP_STRIPE_PUBLISHABLE_KEY"),
                    apiBase: try reader.url("SHOP_STRIPE_API_BASE").map(Self.withoutTrailingSlash) ?? "https://api.stripe.com",
                    webhookSecret: Secret(try reader.required("SHOP_PAYMENTS_WEBHOOK_SECRET", because: "SHOP_PAYMENTS=stripe"))))
        default:
            payments = .simulated(
                SimulatorSettings(
                    webhookSecret: reader.string("SHOP_PAYMENTS_WEBHOOK_SECRET").map(Secret.init),
                    webhookURL: try reader.url("SHOP_PAYMENTS_WEBHOOK_URL")))
        }

        switch try reader.choice("SHOP_IMAGES", ["local", "s3"]) ?? "local" {
        case "s3":
            images = .s3(
                S3Settings(
                    aws: try reader.aws(), bucket: try reader.required("SHOP_S3_BUCKET", because: "SHOP_IMAGES=s3"),
                    endpoint: try reader.url("SHOP_S3_ENDPOINT").map(Self.withoutTrailingSlash),
                    publicBaseURL: try reader.url("SHOP_IMAGE_BASE_URL").map(Self.withoutTrailingSlash)))
        default:
            images = .local
        }
    }

    static func events(_ reader: EnvironmentReader, inFunction: Bool, defaultWebURL: String) throws -> EventsSettings {
        // A function's disk is not kept: there, no setting means no mail.
        let mail: EventsSettings.Mail
        switch try reader.choice("SHOP_MAIL", ["off", "file", "smtp", "ses"]) ?? (inFunction ? "off" : "file") {
        case "off":
            mail = .off
        case "smtp":
            let tls = try reader.choice("SHOP_SMTP_TLS", ["required", "off"]) ?? "required"
            mail = .smtp(
                SMTPSettings(
                    host: try reader.required("SHOP_SMTP_HOST", because: "SHOP_MAIL=smtp"),
                    port: try reader.int("SHOP_SMTP_PORT", 1...65535) ?? 587,
                    username: reader.string("SHOP_SMTP_USERNAME"), password: reader.string("SHOP_SMTP_PASSWORD").map(Secret.init),
                    tlsRequired: tls == "required", caFile: reader.string("SHOP_SMTP_CA_FILE")))
        case "ses":
            let aws = try reader.aws()
            mail = .ses(SESSettings(aws: aws, endpoint: try reader.endpoint("SHOP_SES_ENDPOINT", service: "email", region: aws.region)))
        default:
            if inFunction {
                throw Invalid(
                    description: "SHOP_MAIL=file writes to the server's disk, which a function does not keep: use smtp, ses or off")
            }
            mail = .file
        }
        let from = reader.string("SHOP_MAIL_FROM")
        if from == nil, case .smtp = mail { throw Invalid(description: "SHOP_MAIL=smtp needs SHOP_MAIL_FROM (Shop <shop@example.com>)") }
        if from == nil, case .ses = mail {
            throw Invalid(description: "SHOP_MAIL=ses needs SHOP_MAIL_FROM, an address of a verified SES identity")
        }
        let webhookURL = try reader.url("SHOP_EVENTS_WEBHOOK_URL")
        let webhookSecret = reader.string("SHOP_EVENTS_WEBHOOK_SECRET").map(Secret.init)
        if webhookURL != nil && webhookSecret == nil {
            throw Invalid(description: "SHOP_EVENTS_WEBHOOK_URL needs SHOP_EVENTS_WEBHOOK_SECRET, the key its events are signed with")
        }
        return EventsSettings(
            mail: mail, mailFrom: from ?? "ServerlessShop <shop@localhost>",
            webURL: try reader.url("SHOP_WEB_URL").map(Self.withoutTrailingSlash) ?? defaultWebURL,
            templatesDirectory: reader.string("SHOP_MAIL_TEMPLATES_DIR"),
            mailRetryBaseSeconds: try reader.int("SHOP_MAIL_RETRY_BASE_SECONDS", 1...86_400) ?? 30,
            webhookURL: webhookURL, webhookSecret: webhookSecret,
            webhookRetryBaseSeconds: try reader.int("SHOP_EVENTS_WEBHOOK_RETRY_BASE_SECONDS", 1...86_400) ?? 30,
            bus: try reader.string("SHOP_EVENT_BUS_NAME").map { name throws in
                let aws = try reader.aws()
                return EventBusSettings(
                    aws: aws, name: name, endpoint: try reader.endpoint("SHOP_EVENTBRIDGE_ENDPOINT", service: "events", region: aws.region))
            })
    }

    /// The region rule every AWS backend follows: `AWS_REGION`, then `AWS_DEFAULT_REGION`, else `us-east-1`.
    public static func region(in environment: [String: String]) -> String {
        EnvironmentReader(environment: environment).region
    }

    static func withoutTrailingSlash(_ url: String) -> String {
        var value = url
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }
}

/// Reads typed values out of an environment, failing with a message that names the variable.
struct EnvironmentReader {
    let environment: [String: String]

    typealias Invalid = ShopConfiguration.Invalid

    func string(_ name: String) -> String? {
        guard let raw = environment[name], !raw.isEmpty else { return nil }
        return raw
    }

    func required(_ name: String, because reason: String) throws -> String {
        guard let value = string(name) else { throw Invalid(description: "\(reason) needs \(name)") }
        return value
    }

    func int(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let raw = string(name) else { return nil }
        guard let value = Int(raw), range ~= value else {
            throw Invalid(description: "\(name)=\(raw) is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let raw = string(name) else { return nil }
        switch raw.lowercased() {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw Invalid(description: "\(name)=\(raw) must be true or false")
        }
    }

    /// One of `choices`, compared case-insensitively; the lower-cased choice.
    func choice(_ name: String, _ choices: [String]) throws -> String? {
        guard let raw = string(name) else { return nil }
        guard choices.contains(raw.lowercased()) else {
            throw Invalid(description: "\(name)=\(raw) must be one of \(choices.joined(separator: ", "))")
        }
        return raw.lowercased()
    }

    /// An `http://` or `https://` URL.
    func url(_ name: String) throws -> String? {
        guard let raw = string(name) else { return nil }
        guard raw.hasPrefix("http://") || raw.hasPrefix("https://"), raw.count > "https://".count else {
            throw Invalid(description: "\(name)=\(raw) must be an http:// or https:// URL")
        }
        return raw
    }

    /// `off` (nil), or `host:port` with an IPv6 host in brackets (`[::1]:9464`); port 0 picks a free one.
    func listenAddress(_ name: String) throws -> ShopConfiguration.ListenAddress? {
        guard let raw = string(name), raw.lowercased() != "off" else { return nil }
        let invalid = Invalid(
            description: "\(name)=\(raw) must be off or host:port, such as 127.0.0.1:9464 ([::1]:9464 for IPv6; port 0 picks a free one)")
        guard let colon = raw.lastIndex(of: ":"), let port = Int(raw[raw.index(after: colon)...]), (0...65535).contains(port) else {
            throw invalid
        }
        var host = String(raw[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw invalid
        }
        guard !host.isEmpty, !host.contains(where: { " /[]".contains($0) }) else { throw invalid }
        return ShopConfiguration.ListenAddress(host: host, port: port)
    }

    /// A comma-separated list of origins: `scheme://host[:port]`, without path, query or `*`.
    func origins(_ name: String) throws -> [String] {
        guard let raw = string(name) else { return [] }
        return try raw.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }.map { origin in
            guard let scheme = origin.firstRange(of: "://"), ["http", "https"].contains(origin[..<scheme.lowerBound]),
                !origin[scheme.upperBound...].isEmpty, !origin[scheme.upperBound...].contains(where: { "/?#*@ ".contains($0) })
            else {
                throw Invalid(description: "\(name): \(origin) is not an origin such as https://shop.example.com or http://localhost:5173")
            }
            return origin
        }
    }

    /// A comma-separated list of CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`, or an address alone).
    func cidrBlocks(_ name: String) throws -> [CIDRBlock] {
        guard let raw = string(name) else { return [] }
        return try raw.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }.map { text in
            guard let block = CIDRBlock(text) else {
                throw Invalid(description: "\(name): \(text) is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32")
            }
            return block
        }
    }

    /// The override named `name`, else AWS's endpoint for the service in the region.
    func endpoint(_ name: String, service: String, region: String) throws -> String {
        AWSEndpoint.resolve(service: service, region: region, override: try url(name))
    }

    var region: String { string("AWS_REGION") ?? string("AWS_DEFAULT_REGION") ?? "us-east-1" }

    func aws() throws -> ShopConfiguration.AWSAccess {
        do {
            return ShopConfiguration.AWSAccess(region: region, credentials: try AWSCredentials.fromEnvironment(environment))
        } catch {
            throw Invalid(description: String(describing: error))
        }
    }
}
