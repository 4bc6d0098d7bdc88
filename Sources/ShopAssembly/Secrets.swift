import AWSWire
import AsyncHTTPClient
import Identity
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The secrets the services need, as a host's secrets source found them.
public struct ShopSecrets: Sendable {
    /// Signs page cursors (the assembly derives the HMAC key from it). At least 16 bytes.
    public var cursorSecret: [UInt8]
    /// Signs local tokens; needed only with `SHOP_IDENTITY=local`.
    public var tokenSigningKey: SigningKey?

    public init(cursorSecret: [UInt8], tokenSigningKey: SigningKey?) {
        self.cursorSecret = cursorSecret
        self.tokenSigningKey = tokenSigningKey
    }
}

/// Where a host's secrets come from: key files in the data directory for `shop serve` (ShopLocal's
/// `KeyFileSecrets`), AWS Secrets Manager for a deployed function (`SecretsManagerSecrets`, the
/// default in ShopLambda), or plain variables for the emulator tests only (`EnvironmentSecrets`,
/// `SHOP_SECRETS=environment`).
public protocol SecretsSource: Sendable {
    /// The secrets `configuration` needs; fails naming what is missing.
    func secrets(for configuration: ShopConfiguration) async throws -> ShopSecrets
}

/// Secrets from the environment the host handed over: `SHOP_CURSOR_SECRET` always,
/// `SHOP_TOKEN_SIGNING_KEY_PEM` with the local identity. For tests and the emulator only
/// (`SHOP_SECRETS=environment`): a deployed function reads Secrets Manager (`SecretsManagerSecrets`).
public struct EnvironmentSecrets: SecretsSource {
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func secrets(for configuration: ShopConfiguration) async throws -> ShopSecrets {
        let reader = EnvironmentReader(environment: environment)
        guard let cursor = reader.string("SHOP_CURSOR_SECRET"), cursor.utf8.count >= 16 else {
            throw ShopConfiguration.Invalid(
                description: "SHOP_CURSOR_SECRET must be set (16 characters or more): it signs page cursors, the same in every function")
        }
        var signingKey: SigningKey?
        if case .local = configuration.identity {
            let pem = try reader.required("SHOP_TOKEN_SIGNING_KEY_PEM", because: "SHOP_IDENTITY=local in a function")
            do {
                signingKey = try SigningKey(pem: pem)
            } catch {
                throw ShopConfiguration.Invalid(description: "SHOP_TOKEN_SIGNING_KEY_PEM is not an RSA private key in PEM form")
            }
        }
        return ShopSecrets(cursorSecret: Array(cursor.utf8), tokenSigningKey: signingKey)
    }
}

/// Secrets from AWS Secrets Manager, read once in a function's init phase (what the SAM template sets up):
/// - `SHOP_CURSOR_SECRET_ARN`: a string secret of 16 characters or more that signs page cursors, read
///   only by the functions that serve listings (products, orders); the others sign no cursor anyone
///   reads, so they get a random key of their own and no access to the secret;
/// - `SHOP_STRIPE_SECRET_ARN` (with `SHOP_PAYMENTS=stripe`): `{"secretKey": "sk_...", "webhookSecret": "whsec_..."}`;
/// - `SHOP_EVENTS_WEBHOOK_SECRET_ARN`: a plain string secret, the key the events webhook is signed with
///   (`SHOP_EVENTS_WEBHOOK_SECRET`); read only when the variable is set;
/// - `SHOP_SMTP_PASSWORD_ARN`: a plain string secret, the SMTP password (`SHOP_SMTP_PASSWORD`); read only when set.
///
/// The secrets never pass through the process environment: a function that also has one of
/// `plainVariables` set refuses to start. `SHOP_SECRETSMANAGER_ENDPOINT` overrides the region's
/// endpoint (moto). Only the Cognito identity works here (the local issuer's signing key is not kept
/// in Secrets Manager).
public struct SecretsManagerSecrets: SecretsSource {
    /// Variables that would carry a secret in plain text; refused next to Secrets Manager.
    public static let plainVariables = [
        "SHOP_CURSOR_SECRET", "SHOP_STRIPE_SECRET_KEY", "SHOP_PAYMENTS_WEBHOOK_SECRET", "SHOP_TOKEN_SIGNING_KEY_PEM",
        "SHOP_EVENTS_WEBHOOK_SECRET", "SHOP_SMTP_PASSWORD",
    ]

    struct StripeSecret: Decodable {
        var secretKey: String
        var webhookSecret: String
    }

    let cursorSecret: [UInt8]
    let stripe: StripeSecret?
    /// `SHOP_EVENTS_WEBHOOK_SECRET_ARN`'s value, and `SHOP_SMTP_PASSWORD_ARN`'s.
    let eventsWebhookSecret: String?
    let smtpPassword: String?

    /// Reads the secrets `environment` names, with one `GetSecretValue` each. Fails naming the variable or the secret.
    /// `cursors`: the function serves listings whose cursors other invocations read back, so it needs the shared cursor secret.
    public static func load(
        environment: [String: String], cursors: Bool = true, httpClient: HTTPClient, logger: Logger
    ) async throws -> SecretsManagerSecrets {
        let reader = EnvironmentReader(environment: environment)
        if let plain = plainVariables.first(where: { reader.string($0) != nil }) {
            throw ShopConfiguration.Invalid(
                description:
                    "\(plain) is set, but secrets come from Secrets Manager here (SHOP_SECRETS=secretsmanager): remove it and name the secret's ARN instead"
            )
        }
        let aws = try reader.aws()
        let client = SecretsManagerClient(
            httpClient: httpClient, region: aws.region, credentials: aws.credentials,
            endpoint: try reader.endpoint("SHOP_SECRETSMANAGER_ENDPOINT", service: "secretsmanager", region: aws.region), logger: logger)

        let cursor: [UInt8]
        if cursors {
            let cursorId = try reader.required(
                "SHOP_CURSOR_SECRET_ARN", because: "SHOP_SECRETS=secretsmanager in a function that serves listings")
            let text = try await read(cursorId, variable: "SHOP_CURSOR_SECRET_ARN", client: client)
            guard text.utf8.count >= 16 else {
                throw ShopConfiguration.Invalid(description: "the cursor secret (SHOP_CURSOR_SECRET_ARN) must be 16 characters or more")
            }
            cursor = Array(text.utf8)
        } else {
            var generator = SystemRandomNumberGenerator()
            cursor = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        }

        var stripe: StripeSecret?
        if reader.string("SHOP_PAYMENTS")?.lowercased() == "stripe" {
            let stripeId = try reader.required("SHOP_STRIPE_SECRET_ARN", because: "SHOP_PAYMENTS=stripe with SHOP_SECRETS=secretsmanager")
            let text = try await read(stripeId, variable: "SHOP_STRIPE_SECRET_ARN", client: client)
            guard let decoded = try? JSONDecoder().decode(StripeSecret.self, from: Data(text.utf8)) else {
                throw ShopConfiguration.Invalid(
                    description:
                        #"the Stripe secret (SHOP_STRIPE_SECRET_ARN) must be JSON: {"secretKey": "sk_...", "webhookSecret": "whsec_..."}"#)
            }
            guard !decoded.secretKey.isEmpty, !decoded.webhookSecret.isEmpty else {
                throw ShopConfiguration.Invalid(
                    description:
                        "the Stripe secret (SHOP_STRIPE_SECRET_ARN) has an empty secretKey or webhookSecret: put them in (docs/DEPLOY.md)")
            }
            stripe = decoded
        }
        // Plain string secrets, read only where the template names them (the events function and the sweep).
        func plain(_ variable: String, _ what: String) async throws -> String? {
            guard let id = reader.string(variable) else { return nil }
            let text = try await read(id, variable: variable, client: client)
            guard !text.isEmpty else {
                throw ShopConfiguration.Invalid(description: "the \(what) (\(variable)) is empty: put it in (docs/DEPLOY.md)")
            }
            return text
        }
        let webhookSecret = try await plain("SHOP_EVENTS_WEBHOOK_SECRET_ARN", "events webhook secret")
        let smtpPassword = try await plain("SHOP_SMTP_PASSWORD_ARN", "SMTP password")
        logger.info(
            "secrets read from Secrets Manager",
            metadata: [
                "cursor": "\(cursors)", "stripe": "\(stripe != nil)", "events_webhook": "\(webhookSecret != nil)",
                "smtp_password": "\(smtpPassword != nil)",
            ])
        return SecretsManagerSecrets(cursorSecret: cursor, stripe: stripe, eventsWebhookSecret: webhookSecret, smtpPassword: smtpPassword)
    }

    static func read(_ id: String, variable: String, client: SecretsManagerClient) async throws -> String {
        do {
            return try await client.secretString(id: id)
        } catch let error as AWSError {
            throw ShopConfiguration.Invalid(description: "\(variable): GetSecretValue failed: \(error)")
        } catch {
            throw ShopConfiguration.Invalid(description: "\(variable): \(error)")
        }
    }

    /// The environment the configuration is parsed from: `environment` with the Stripe secret's values in
    /// `SHOP_STRIPE_SECRET_KEY` and `SHOP_PAYMENTS_WEBHOOK_SECRET`, the events webhook secret in
    /// `SHOP_EVENTS_WEBHOOK_SECRET` and the SMTP password in `SHOP_SMTP_PASSWORD`. In memory only: the process
    /// environment is not changed, and nothing here is logged.
    public func configurationEnvironment(_ environment: [String: String]) -> [String: String] {
        var result = environment
        if let stripe {
            result["SHOP_STRIPE_SECRET_KEY"] = stripe.secretKey
            result["SHOP_PAYMENTS_WEBHOOK_SECRET"] = stripe.webhookSecret
        }
        if let eventsWebhookSecret { result["SHOP_EVENTS_WEBHOOK_SECRET"] = eventsWebhookSecret }
        if let smtpPassword { result["SHOP_SMTP_PASSWORD"] = smtpPassword }
        return result
    }

    public func secrets(for configuration: ShopConfiguration) async throws -> ShopSecrets {
        if case .local = configuration.identity {
            throw ShopConfiguration.Invalid(
                description:
                    "SHOP_IDENTITY=local needs a token-signing key, which is not kept in Secrets Manager: use SHOP_IDENTITY=cognito")
        }
        return ShopSecrets(cursorSecret: cursorSecret, tokenSigningKey: nil)
    }
}
