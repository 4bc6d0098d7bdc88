import Identity

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
/// `KeyFileSecrets`), the function's environment for Lambda today (`EnvironmentSecrets`); the SAM
/// template will add Secrets Manager behind this same interface.
public protocol SecretsSource: Sendable {
    /// The secrets `configuration` needs; fails naming what is missing.
    func secrets(for configuration: ShopConfiguration) async throws -> ShopSecrets
}

/// Secrets from the environment the host handed over (a Lambda function's configuration):
/// `SHOP_CURSOR_SECRET` always, `SHOP_TOKEN_SIGNING_KEY_PEM` with the local identity.
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
