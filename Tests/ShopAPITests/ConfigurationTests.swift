import AWSWire
import CryptoExtras
import Foundation
import Identity
import Logging
import SQLiteStore
import ShopAPI
import ShopAssembly
import ShopLocal
import ShopStorage
import Testing

/// Every error names its variable.
func expectNames(_ variable: String, _ environment: [String: String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(sourceLocation: sourceLocation) {
        try ShopConfiguration(environment: environment)
    } throws: { error in
        String(describing: error).contains(variable)
    }
}

let awsKeys = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"]

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsAreTheEmbeddedStore() throws {
        let c = try ShopConfiguration(environment: [:])
        #expect(c.host == "127.0.0.1")
        #expect(c.port == 8080)
        #expect(c.dataDirectory == "./data")
        #expect(c.orderTTLSeconds == 900)
        #expect(c.seedDemoCatalog)
        #expect(c.sweepIntervalSeconds == 30)
        #expect(c.logLevel == .info)
        #expect(c.store == .sqlite(directory: "./data"))
        #expect(
            c.identity
                == .local(.init(issuer: "http://127.0.0.1:8080", clientId: "serverlessshop-local", tokenTTLSeconds: 3600, bcryptCost: 12)))
        #expect(c.images == .local)
        #expect(c.function == .init(handler: nil, trustAuthorizerClaims: false))
        #expect(c == ShopConfiguration())
    }

    @Test func serverFamily() throws {
        let c = try ShopConfiguration(environment: [
            "SHOP_HOST": "0.0.0.0", "SHOP_PORT": "9000", "SHOP_DATA_DIR": "/var/shop", "SHOP_ORDER_TTL_SECONDS": "60",
            "SHOP_SEED": "false", "SHOP_SWEEP_INTERVAL_SECONDS": "5", "SHOP_LOG_LEVEL": "debug",
        ])
        #expect(c.host == "0.0.0.0")
        #expect(c.port == 9000)
        #expect(c.orderTTLSeconds == 60)
        #expect(!c.seedDemoCatalog)
        #expect(c.sweepIntervalSeconds == 5)
        #expect(c.logLevel == .debug)
        #expect(c.store == .sqlite(directory: "/var/shop"), "the SQLite file follows the data directory")
        #expect(c.effectiveIssuer == "http://0.0.0.0:9000")
    }

    /// `SHOP_METRICS_ADDRESS`: off unless set; `host:port`, IPv6 in brackets, port 0 for any free one.
    @Test func metricsAddress() throws {
        #expect(try ShopConfiguration(environment: [:]).metricsAddress == nil)
        #expect(try ShopConfiguration(environment: ["SHOP_METRICS_ADDRESS": "off"]).metricsAddress == nil)
        #expect(
            try ShopConfiguration(environment: ["SHOP_METRICS_ADDRESS": "127.0.0.1:0"]).metricsAddress == .init(host: "127.0.0.1", port: 0))
        #expect(try ShopConfiguration(environment: ["SHOP_METRICS_ADDRESS": "[::1]:9464"]).metricsAddress == .init(host: "::1", port: 9464))
        #expect(
            try ShopConfiguration(environment: ["SHOP_METRICS_ADDRESS": "0.0.0.0:9464"]).metricsAddress
                == .init(host: "0.0.0.0", port: 9464))
    }

    @Test func localIdentityFamily() throws {
        let c = try ShopConfiguration(environment: [
            "SHOP_TOKEN_ISSUER": "https://shop.example", "SHOP_CLIENT_ID": "web", "SHOP_TOKEN_TTL_SECONDS": "600", "SHOP_BCRYPT_COST": "10",
        ])
        #expect(c.identity == .local(.init(issuer: "https://shop.example", clientId: "web", tokenTTLSeconds: 600, bcryptCost: 10)))
        #expect(c.effectiveIssuer == "https://shop.example")
    }

    @Test func dynamoDBFamily() throws {
        let c = try ShopConfiguration(
            environment: awsKeys.merging([
                "SHOP_STORE": "DynamoDB", "AWS_REGION": "eu-west-1", "SHOP_DYNAMODB_ENDPOINT": "http://127.0.0.1:5000/",
                "SHOP_DYNAMODB_ORDERS_TABLE": "shop-orders", "AWS_SESSION_TOKEN": "token",
            ]) { a, _ in a })
        guard case .dynamodb(let settings) = c.store else {
            Issue.record("not dynamodb: \(c.store)")
            return
        }
        #expect(settings.aws.region == "eu-west-1")
        #expect(settings.aws.credentials == AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "token"))
        #expect(settings.endpoint == "http://127.0.0.1:5000")
        #expect(settings.tables.orders == "shop-orders")
        #expect(settings.tables.products == "Products")
        let regional = try ShopConfiguration(environment: awsKeys.merging(["SHOP_STORE": "dynamodb"]) { a, _ in a })
        guard case .dynamodb(let defaults) = regional.store else {
            Issue.record("not dynamodb")
            return
        }
        #expect(defaults.endpoint == "https://dynamodb.us-east-1.amazonaws.com")
        expectNames("AWS_ACCESS_KEY_ID", ["SHOP_STORE": "dynamodb"])
        expectNames("AWS_SECRET_ACCESS_KEY", ["SHOP_STORE": "dynamodb", "AWS_ACCESS_KEY_ID": "AKID"])
        expectNames(
            "SHOP_DYNAMODB_ENDPOINT", awsKeys.merging(["SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": "localhost:8000"]) { a, _ in a })
    }

    @Test func oneRegionRule() {
        #expect(ShopConfiguration.region(in: ["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"]) == "eu-west-1")
        #expect(ShopConfiguration.region(in: ["AWS_DEFAULT_REGION": "us-east-2"]) == "us-east-2")
        #expect(ShopConfiguration.region(in: ["AWS_REGION": ""]) == "us-east-1")
        #expect(ShopConfiguration.region(in: [:]) == "us-east-1")
    }

    @Test func cognitoFamily() throws {
        let c = try ShopConfiguration(
            environment: awsKeys.merging([
                "SHOP_IDENTITY": "cognito", "AWS_DEFAULT_REGION": "eu-central-1", "SHOP_COGNITO_USER_POOL_ID": "eu-central-1_abc",
                "SHOP_COGNITO_CLIENT_ID": "client123",
            ]) { a, _ in a })
        guard case .cognito(let cognito) = c.identity else {
            Issue.record("not cognito")
            return
        }
        #expect(cognito.issuer == "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_abc")
        #expect(cognito.jwksURL == cognito.issuer + "/.well-known/jwks.json")
        #expect(cognito.endpoint == "https://cognito-idp.eu-central-1.amazonaws.com")
        #expect(c.effectiveIssuer == cognito.issuer)
        expectNames("SHOP_COGNITO_USER_POOL_ID", awsKeys.merging(["SHOP_IDENTITY": "cognito"]) { a, _ in a })
        expectNames(
            "SHOP_COGNITO_CLIENT_ID", awsKeys.merging(["SHOP_IDENTITY": "cognito", "SHOP_COGNITO_USER_POOL_ID": "p"]) { a, _ in a })
        expectNames("AWS_ACCESS_KEY_ID", ["SHOP_IDENTITY": "cognito", "SHOP_COGNITO_USER_POOL_ID": "p", "SHOP_COGNITO_CLIENT_ID": "c"])
        expectNames(
            "SHOP_COGNITO_JWKS_URL",
            awsKeys.merging([
                "SHOP_IDENTITY": "cognito", "SHOP_COGNITO_USER_POOL_ID": "p", "SHOP_COGNITO_CLIENT_ID": "c",
                "SHOP_COGNITO_JWKS_URL": "keys.json",
            ]) { a, _ in a })
    }

    @Test func s3Family() throws {
        let c = try ShopConfiguration(
            environment: awsKeys.merging([
                "SHOP_IMAGES": "s3", "SHOP_S3_BUCKET": "images", "SHOP_S3_ENDPOINT": "http://127.0.0.1:5000/",
                "SHOP_IMAGE_BASE_URL": "https://cdn.example/",
            ]) { a, _ in a })
        guard case .s3(let s3) = c.images else {
            Issue.record("not s3")
            return
        }
        #expect(s3.bucket == "images")
        #expect(s3.endpoint == "http://127.0.0.1:5000")
        #expect(s3.publicBaseURL == "https://cdn.example")
        #expect(s3.aws.region == "us-east-1")
        expectNames("SHOP_S3_BUCKET", awsKeys.merging(["SHOP_IMAGES": "s3"]) { a, _ in a })
        expectNames(
            "SHOP_IMAGE_BASE_URL",
            awsKeys.merging(["SHOP_IMAGES": "s3", "SHOP_S3_BUCKET": "b", "SHOP_IMAGE_BASE_URL": "cdn"]) { a, _ in a })
    }

    @Test func paymentsFamily() throws {
        #expect(try ShopConfiguration(environment: [:]).payments == .simulated(.init(webhookSecret: nil, webhookURL: nil)))
        let simulated = try ShopConfiguration(environment: [
            "SHOP_PAYMENTS_WEBHOOK_SECRET": "whsec_local", "SHOP_PAYMENTS_WEBHOOK_URL": "http://127.0.0.1:9999/hook",
        ])
        #expect(simulated.payments == .simulated(.init(webhookSecret: .init("whsec_local"), webhookURL: "http://127.0.0.1:9999/hook")))
        let stripe = try ShopConfiguration(environment: [
            "SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk_test_very_secret", "SHOP_STRIPE_PUBLISHABLE_KEY": "pk_test_1",
            "SHOP_PAYMENTS_WEBHOOK_SECRET": "whsec_very_secret", "SHOP_STRIPE_API_BASE": "http://127.0.0.1:12111/",
        ])
        guard case .stripe(let settings) = stripe.payments else {
            Issue.record("not stripe")
            return
        }
        #expect(settings.secretKey.value == "sk_test_very_secret")
        #expect(settings.publishableKey == "pk_test_1")
        #expect(settings.apiBase == "http://127.0.0.1:12111")
        #expect(
            try ShopConfiguration(environment: [
                "SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk", "SHOP_PAYMENTS_WEBHOOK_SECRET": "whsec",
            ]).payments
                == .stripe(
                    .init(secretKey: .init("sk"), publishableKey: nil, apiBase: "https://api.stripe.com", webhookSecret: .init("whsec"))))
        // Printed by accident, the configuration shows no secret.
        let printed = String(describing: stripe) + String(reflecting: stripe)
        #expect(!printed.contains("sk_test_very_secret"))
        #expect(!printed.contains("whsec_very_secret"))
        expectNames("SHOP_STRIPE_SECRET_KEY", ["SHOP_PAYMENTS": "stripe", "SHOP_PAYMENTS_WEBHOOK_SECRET": "whsec"])
        expectNames("SHOP_PAYMENTS_WEBHOOK_SECRET", ["SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk"])
        expectNames(
            "SHOP_STRIPE_API_BASE",
            [
                "SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_SECRET_KEY": "sk", "SHOP_PAYMENTS_WEBHOOK_SECRET": "w",
                "SHOP_STRIPE_API_BASE": "stripe",
            ])
        expectNames("SHOP_PAYMENTS_WEBHOOK_URL", ["SHOP_PAYMENTS_WEBHOOK_URL": "localhost"])
    }

    @Test(arguments: [
        ("SHOP_PAYMENTS", "paypal"),
        ("SHOP_PORT", "eighty"), ("SHOP_PORT", "70000"), ("SHOP_ORDER_TTL_SECONDS", "0"), ("SHOP_SEED", "maybe"),
        ("SHOP_STORE", "postgres"), ("SHOP_BCRYPT_COST", "2"), ("SHOP_IDENTITY", "ldap"), ("SHOP_IMAGES", "ftp"),
        ("SHOP_LOG_LEVEL", "loud"), ("SHOP_TOKEN_TTL_SECONDS", "5"), ("SHOP_SWEEP_INTERVAL_SECONDS", "0"),
        ("SHOP_TRUST_AUTHORIZER_CLAIMS", "perhaps"),
        ("SHOP_METRICS_ADDRESS", "9464"), ("SHOP_METRICS_ADDRESS", "on"), ("SHOP_METRICS_ADDRESS", "127.0.0.1:99999"),
        ("SHOP_METRICS_ADDRESS", "::1:9464"), ("SHOP_METRICS_ADDRESS", ":9464"),
    ])
    func invalidValuesNameTheirVariable(_ name: String, _ value: String) {
        expectNames(name, [name: value])
    }
}

@Suite("Configuration of the hosts")
struct HostConfigurationTests {
    // MARK: the functions

    @Test func handlerNamesTheRole() throws {
        #expect(try FunctionRole(handler: "products") == .api(.products))
        #expect(try FunctionRole(handler: "bootstrap.Orders") == .api(.orders))
        #expect(try FunctionRole(handler: "sweep") == .sweep)
        #expect(try ShopConfiguration(environment: ["_HANDLER": "auth"]).function.handler == "auth")
        #expect(try ShopConfiguration(environment: ["SHOP_TRUST_AUTHORIZER_CLAIMS": "true"]).function.trustAuthorizerClaims)
        #expect { try FunctionRole(handler: "billing") } throws: { String(describing: $0).contains("_HANDLER=billing") }
        #expect { try FunctionRole(handler: nil) } throws: { String(describing: $0).contains("_HANDLER") }
    }

    static let pem = try! _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation

    @Test func functionSecretsComeFromTheEnvironment() async throws {
        let local = try ShopConfiguration(environment: [:])
        let secrets = try await EnvironmentSecrets(environment: [
            "SHOP_CURSOR_SECRET": "0123456789abcdef", "SHOP_TOKEN_SIGNING_KEY_PEM": Self.pem,
        ])
        .secrets(for: local)
        #expect(secrets.cursorSecret == Array("0123456789abcdef".utf8))
        #expect(secrets.tokenSigningKey != nil)

        await #expect { try await EnvironmentSecrets(environment: ["SHOP_TOKEN_SIGNING_KEY_PEM": Self.pem]).secrets(for: local) } throws: {
            String(describing: $0).contains("SHOP_CURSOR_SECRET")
        }
        await #expect { try await EnvironmentSecrets(environment: ["SHOP_CURSOR_SECRET": "short"]).secrets(for: local) } throws: {
            String(describing: $0).contains("SHOP_CURSOR_SECRET")
        }
        await #expect {
            try await EnvironmentSecrets(environment: ["SHOP_CURSOR_SECRET": "0123456789abcdef"]).secrets(for: local)
        } throws: {
            String(describing: $0).contains("SHOP_TOKEN_SIGNING_KEY_PEM")
        }
        await #expect {
            try await EnvironmentSecrets(environment: ["SHOP_CURSOR_SECRET": "0123456789abcdef", "SHOP_TOKEN_SIGNING_KEY_PEM": "nope"])
                .secrets(for: local)
        } throws: { String(describing: $0).contains("SHOP_TOKEN_SIGNING_KEY_PEM") }

        // Cognito signs its own tokens: no key needed.
        let cognito = try ShopConfiguration(
            environment: awsKeys.merging([
                "SHOP_IDENTITY": "cognito", "SHOP_COGNITO_USER_POOL_ID": "p", "SHOP_COGNITO_CLIENT_ID": "c",
            ]) { a, _ in a })
        let cognitoSecrets = try await EnvironmentSecrets(environment: ["SHOP_CURSOR_SECRET": "0123456789abcdef"]).secrets(for: cognito)
        #expect(cognitoSecrets.tokenSigningKey == nil)
    }

    @Test func aFunctionHasNoPaymentSimulator() async throws {
        let secrets = ShopSecrets(cursorSecret: Array("0123456789abcdef".utf8), tokenSigningKey: try SigningKey(pem: Self.pem))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fn-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        await #expect {
            try await ShopAssembly.assemble(
                ShopConfiguration(), host: HostParts(stores: ShopStores(store), secrets: secrets, logger: Logger(label: "test")))
        } throws: { String(describing: $0).contains("SHOP_PAYMENTS") }
    }

    @Test func aFunctionHasNoEmbeddedStore() async throws {
        let secrets = ShopSecrets(cursorSecret: Array("0123456789abcdef".utf8), tokenSigningKey: try SigningKey(pem: Self.pem))
        await #expect {
            try await ShopAssembly.assemble(ShopConfiguration(), host: HostParts(secrets: secrets, logger: Logger(label: "test")))
        } throws: { String(describing: $0).contains("SHOP_STORE") }
    }

    // MARK: shop serve

    @Test func shopServeOpensItsDataDirectory() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shop-host-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configuration = try ShopConfiguration(environment: ["SHOP_DATA_DIR": dir, "SHOP_BCRYPT_COST": "4"])
        let first = try await LocalHost.assemble(configuration, logger: Logger(label: "test"))
        #expect(FileManager.default.fileExists(atPath: dir + "/shop.sqlite"))
        for key in ["cursor.key", "upload.key", "token-signing.pem"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/keys/" + key)
            #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o077 } == 0, "\(key) is readable by its owner only")
        }
        #expect(first.services.jwksJSON != nil)
        #expect(first.services.localImages != nil)
        // A second start reads the same keys: tokens and cursors survive a restart.
        let second = try await LocalHost.assemble(configuration, logger: Logger(label: "test"))
        #expect(second.services.jwksJSON == first.services.jwksJSON)
        #expect(second.services.cursors.encode("k", scope: "s") == first.services.cursors.encode("k", scope: "s"))
    }
}
