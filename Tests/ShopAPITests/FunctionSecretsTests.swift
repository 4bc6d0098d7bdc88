import AWSWire
import AsyncHTTPClient
import Foundation
import Logging
import ShopAssembly
import ShopSupport
import TestServices
import Testing

/// A function's secrets from Secrets Manager on moto (`FunctionSetup`, `SecretsManagerSecrets`): what the
/// SAM template configures. Plain secret variables are refused next to it; `SHOP_SECRETS=environment` is
/// the tests' way only.
@Suite("Function secrets from Secrets Manager (moto)")
struct FunctionSecretsTests {
    static let logger = Logger(label: "test")

    struct Secrets {
        let endpoint: String
        let cursorARN: String
        let stripeARN: String
    }

    static func makeSecrets(stripe: String = #"{"secretKey": "sk_test_from_sm", "webhookSecret": "whsec_from_sm"}"#) async throws -> Secrets
    {
        let endpoint = try TestService.moto.endpoint
        let client = SecretsManagerClient(
            httpClient: .shared, region: "us-east-1", credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            endpoint: endpoint)
        func create(_ name: String, _ value: String) async throws -> String {
            let output = try await client.client.call(
                "CreateSecret", JSONValue.object(["Name": .string(name), "SecretString": .string(value)]), as: JSONValue.self)
            guard case .object(let body) = output, case .string(let arn)? = body["ARN"] else {
                throw TestFailure("CreateSecret: \(output)")
            }
            return arn
        }
        let id = UUID().uuidString
        return Secrets(
            endpoint: endpoint, cursorARN: try await create("shop-test/\(id)/cursor", "cursor-secret-from-secrets-manager"),
            stripeARN: try await create("shop-test/\(id)/stripe", stripe))
    }

    /// The environment the template gives the orders function, with moto in place of AWS.
    static func environment(_ secrets: Secrets, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "_HANDLER": "orders", "SHOP_STORE": "dynamodb", "SHOP_IDENTITY": "cognito", "SHOP_COGNITO_USER_POOL_ID": "us-east-1_pool",
            "SHOP_COGNITO_CLIENT_ID": "client", "SHOP_PAYMENTS": "stripe", "SHOP_STRIPE_PUBLISHABLE_KEY": "pk_test_x",
            "SHOP_CURSOR_SECRET_ARN": secrets.cursorARN, "SHOP_STRIPE_SECRET_ARN": secrets.stripeARN,
            "SHOP_SECRETSMANAGER_ENDPOINT": secrets.endpoint,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
        ].merging(extra) { _, new in new }
    }

    @Test func secretsManagerIsTheDefaultAndFillsTheStripeSettings() async throws {
        let secrets = try await Self.makeSecrets()
        let (configuration, source) = try await FunctionSetup.load(environment: Self.environment(secrets), logger: Self.logger)
        #expect(source is SecretsManagerSecrets)
        guard case .stripe(let stripe) = configuration.payments else {
            Issue.record("not stripe: \(configuration.payments)")
            return
        }
        #expect(stripe.secretKey.value == "sk_test_from_sm")
        #expect(stripe.webhookSecret.value == "whsec_from_sm")
        #expect(stripe.publishableKey == "pk_test_x")
        let shopSecrets = try await source.secrets(for: configuration)
        #expect(shopSecrets.cursorSecret == Array("cursor-secret-from-secrets-manager".utf8))
        #expect(shopSecrets.tokenSigningKey == nil)
    }

    @Test func aFunctionWithoutPaymentsReadsOnlyTheCursorSecret() async throws {
        let secrets = try await Self.makeSecrets()
        var environment = Self.environment(secrets, ["_HANDLER": "products", "SHOP_PAYMENTS": "none"])
        // Even a wrong Stripe ARN is not read: products and auth never ask for the Stripe secret.
        environment["SHOP_STRIPE_SECRET_ARN"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope"
        let (configuration, _) = try await FunctionSetup.load(environment: environment, logger: Self.logger)
        #expect(configuration.payments == .none)
    }

    /// Only products and orders serve listings whose cursors later invocations read back: auth, payment and
    /// the sweep sign with a random key of their own and need no access to the cursor secret.
    @Test func onlyTheListingFunctionsReadTheCursorSecret() async throws {
        let secrets = try await Self.makeSecrets()
        for handler in ["auth", "payment", "sweep"] {
            var environment = Self.environment(secrets, ["_HANDLER": handler])
            environment["SHOP_CURSOR_SECRET_ARN"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:never-read"
            let (configuration, source) = try await FunctionSetup.load(environment: environment, logger: Self.logger)
            let one = try await source.secrets(for: configuration).cursorSecret
            #expect(one.count == 32, "\(handler)")
            #expect(one != Array("cursor-secret-from-secrets-manager".utf8))
            let (_, again) = try await FunctionSetup.load(environment: environment, logger: Self.logger)
            #expect(try await again.secrets(for: configuration).cursorSecret != one, "a fresh random key per start")
        }
        for handler in ["products", "orders"] {
            var environment = Self.environment(secrets, ["_HANDLER": handler])
            environment["SHOP_CURSOR_SECRET_ARN"] = nil
            await #expect { _ = try await FunctionSetup.load(environment: environment, logger: Self.logger) } throws: {
                String(describing: $0).contains("SHOP_CURSOR_SECRET_ARN")
            }
        }
    }

    @Test func plainSecretVariablesAreRefused() async throws {
        let secrets = try await Self.makeSecrets()
        for variable in SecretsManagerSecrets.plainVariables {
            await #expect {
                _ = try await FunctionSetup.load(
                    environment: Self.environment(secrets, [variable: "plain-secret-value-123"]), logger: Self.logger)
            } throws: { String(describing: $0).contains(variable) }
        }
    }

    @Test func whatIsMissingOrWrongIsNamed() async throws {
        let secrets = try await Self.makeSecrets()
        var noCursor = Self.environment(secrets)
        noCursor["SHOP_CURSOR_SECRET_ARN"] = nil
        await #expect { _ = try await FunctionSetup.load(environment: noCursor, logger: Self.logger) } throws: {
            String(describing: $0).contains("SHOP_CURSOR_SECRET_ARN")
        }
        var noStripe = Self.environment(secrets)
        noStripe["SHOP_STRIPE_SECRET_ARN"] = nil
        await #expect { _ = try await FunctionSetup.load(environment: noStripe, logger: Self.logger) } throws: {
            String(describing: $0).contains("SHOP_STRIPE_SECRET_ARN")
        }
        let unknown = Self.environment(secrets, ["SHOP_CURSOR_SECRET_ARN": "shop-test/never-created-\(UUID().uuidString)"])
        await #expect { _ = try await FunctionSetup.load(environment: unknown, logger: Self.logger) } throws: {
            String(describing: $0).contains("SHOP_CURSOR_SECRET_ARN") && String(describing: $0).contains("ResourceNotFoundException")
        }
        // The template creates the Stripe secret with empty values until someone puts the real ones in.
        let empty = try await Self.makeSecrets(stripe: #"{"secretKey": "", "webhookSecret": ""}"#)
        await #expect { _ = try await FunctionSetup.load(environment: Self.environment(empty), logger: Self.logger) } throws: {
            String(describing: $0).contains("empty secretKey")
        }
        let notJSON = try await Self.makeSecrets(stripe: "sk_live_plain")
        await #expect { _ = try await FunctionSetup.load(environment: Self.environment(notJSON), logger: Self.logger) } throws: {
            String(describing: $0).contains("must be JSON")
        }
        await #expect {
            _ = try await FunctionSetup.load(environment: Self.environment(secrets, ["SHOP_SECRETS": "vault"]), logger: Self.logger)
        } throws: {
            String(describing: $0).contains("SHOP_SECRETS")
        }
        // The local issuer's signing key is not kept in Secrets Manager.
        let local = Self.environment(secrets, ["SHOP_IDENTITY": "local"])
        let (configuration, source) = try await FunctionSetup.load(environment: local, logger: Self.logger)
        await #expect { _ = try await source.secrets(for: configuration) } throws: {
            String(describing: $0).contains("SHOP_IDENTITY=local")
        }
    }

    /// The events function and the sweep: the webhook's signing key and the SMTP password are plain string secrets,
    /// read only when their ARN variables are set, into SHOP_EVENTS_WEBHOOK_SECRET and SHOP_SMTP_PASSWORD.
    @Test func theEventsWebhookSecretAndTheSMTPPasswordComeFromSecretsManager() async throws {
        let secrets = try await Self.makeSecrets()
        let client = SecretsManagerClient(
            httpClient: .shared, region: "us-east-1", credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            endpoint: secrets.endpoint)
        func create(_ name: String, _ value: String) async throws -> String {
            let output = try await client.client.call(
                "CreateSecret",
                JSONValue.object(["Name": .string("shop-test/\(UUID().uuidString)/\(name)"), "SecretString": .string(value)]),
                as: JSONValue.self)
            guard case .object(let body) = output, case .string(let arn)? = body["ARN"] else {
                throw TestFailure("CreateSecret: \(output)")
            }
            return arn
        }
        let webhookARN = try await create("events-webhook", "whsec_events_from_sm")
        let smtpARN = try await create("smtp", "smtp-password-from-sm")
        var environment = Self.environment(
            secrets,
            [
                "_HANDLER": "events", "SHOP_PAYMENTS": "none", "SHOP_EVENTS_WEBHOOK_URL": "https://hooks.example.com/shop",
                "SHOP_EVENTS_WEBHOOK_SECRET_ARN": webhookARN, "SHOP_MAIL": "smtp", "SHOP_MAIL_FROM": "Shop <shop@example.com>",
                "SHOP_SMTP_HOST": "smtp.example.com", "SHOP_SMTP_USERNAME": "shop", "SHOP_SMTP_PASSWORD_ARN": smtpARN,
            ])
        environment["SHOP_CURSOR_SECRET_ARN"] = nil  // the events function hands out no cursors
        let (configuration, _) = try await FunctionSetup.load(environment: environment, logger: Self.logger)
        #expect(configuration.events.webhookURL == "https://hooks.example.com/shop")
        #expect(configuration.events.webhookSecret?.value == "whsec_events_from_sm")
        guard case .smtp(let smtp) = configuration.events.mail else {
            Issue.record("not smtp: \(configuration.events.mail)")
            return
        }
        #expect(smtp.password?.value == "smtp-password-from-sm")
        #expect(smtp.username == "shop")

        // Without the ARN variables nothing is read, and a webhook URL without its secret is refused by name.
        var noSecret = environment
        noSecret["SHOP_EVENTS_WEBHOOK_SECRET_ARN"] = nil
        await #expect { _ = try await FunctionSetup.load(environment: noSecret, logger: Self.logger) } throws: {
            String(describing: $0).contains("SHOP_EVENTS_WEBHOOK_SECRET")
        }
        var noPassword = environment
        noPassword["SHOP_SMTP_PASSWORD_ARN"] = nil
        let (withoutPassword, _) = try await FunctionSetup.load(environment: noPassword, logger: Self.logger)
        guard case .smtp(let plain) = withoutPassword.events.mail else {
            Issue.record("not smtp")
            return
        }
        #expect(plain.password == nil)

        // A wrong or empty secret is named; the plain variables are refused next to Secrets Manager.
        let unknown = environment.merging(["SHOP_SMTP_PASSWORD_ARN": "shop-test/never-created-\(UUID().uuidString)"]) { _, new in new }
        await #expect { _ = try await FunctionSetup.load(environment: unknown, logger: Self.logger) } throws: {
            String(describing: $0).contains("SHOP_SMTP_PASSWORD_ARN") && String(describing: $0).contains("ResourceNotFoundException")
        }
        // A secret created empty (moto then keeps no AWSCURRENT value at all; AWS refuses an empty string) is named.
        let emptyARN = try await create("empty", "")
        let empty = environment.merging(["SHOP_EVENTS_WEBHOOK_SECRET_ARN": emptyARN]) { _, new in new }
        await #expect { _ = try await FunctionSetup.load(environment: empty, logger: Self.logger) } throws: {
            String(describing: $0).contains("SHOP_EVENTS_WEBHOOK_SECRET_ARN")
        }
        for variable in ["SHOP_EVENTS_WEBHOOK_SECRET", "SHOP_SMTP_PASSWORD"] {
            #expect(SecretsManagerSecrets.plainVariables.contains(variable))
            await #expect {
                _ = try await FunctionSetup.load(
                    environment: environment.merging([variable: "plain"]) { _, new in new }, logger: Self.logger)
            } throws: { String(describing: $0).contains(variable) }
        }
    }

    @Test func theTestsOwnPlainVariables() async throws {
        let (configuration, source) = try await FunctionSetup.load(
            environment: [
                "SHOP_SECRETS": "environment", "SHOP_CURSOR_SECRET": "0123456789abcdef", "SHOP_IDENTITY": "cognito",
                "SHOP_COGNITO_USER_POOL_ID": "p", "SHOP_COGNITO_CLIENT_ID": "c", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
            ],
            logger: Self.logger)
        #expect(source is EnvironmentSecrets)
        #expect(try await source.secrets(for: configuration).cursorSecret == Array("0123456789abcdef".utf8))
    }
}
