import AWSWire
import AsyncHTTPClient
import Crypto
import DynamoDBStore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Identity
import Logging
import S3ImageStore
import ShopAPI
import ShopStorage

/// Problems with the function's configuration; reported on the init-error endpoint.
struct LambdaConfigurationError: Error, CustomStringConvertible {
    let description: String
}

/// The same services `shop serve` builds, from the same `ShopConfiguration`, minus everything local:
/// DynamoDB only; Cognito, or local tokens whose key comes from `SHOP_TOKEN_SIGNING_KEY_PEM`; S3 images or none.
enum LambdaServices {
    static func build(_ configuration: ShopConfiguration, environment: [String: String], logger: Logger) async throws -> ShopServices {
        guard configuration.store == .dynamodb else {
            throw LambdaConfigurationError(description: "ShopLambda needs SHOP_STORE=dynamodb (the embedded store is not in this binary)")
        }
        let credentials = try AWSCredentials.fromEnvironment(environment)
        let dynamo = AWSJSONClient(
            httpClient: HTTPClient.shared,
            endpoint: configuration.dynamoDBEndpoint ?? "https://dynamodb.\(configuration.awsRegion).amazonaws.com",
            region: configuration.awsRegion, service: "dynamodb", targetPrefix: "DynamoDB_20120810", jsonVersion: "1.0",
            credentials: credentials)
        let store = DynamoDBStore(client: dynamo, tables: DynamoDBTableNames(environment: environment))

        let identity: any IdentityProvider
        let verifier: TokenVerifier
        var jwksJSON: String?
        var secretSeed: [UInt8]
        switch configuration.identity {
        case .local:
            guard let pem = environment["SHOP_TOKEN_SIGNING_KEY_PEM"], !pem.isEmpty else {
                throw LambdaConfigurationError(
                    description: "SHOP_IDENTITY=local needs the token-signing key in SHOP_TOKEN_SIGNING_KEY_PEM (or use SHOP_IDENTITY=cognito)")
            }
            let signingKey = try SigningKey(pem: pem)
            let issuer = await LocalTokenIssuer(
                key: signingKey, issuer: configuration.effectiveIssuer, clientId: configuration.clientId,
                lifetime: .seconds(configuration.tokenTTLSeconds))
            identity = LocalIdentityProvider(users: store, issuer: issuer, bcryptCost: UInt8(configuration.bcryptCost))
            verifier = TokenVerifier(
                policy: TokenPolicy(issuer: configuration.effectiveIssuer, clientId: configuration.clientId),
                source: .keySet(signingKey.jwksJSON), logger: logger)
            jwksJSON = signingKey.jwksJSON
            secretSeed = Array(pem.utf8)
        case .cognito:
            let cognitoClient = AWSJSONClient(
                httpClient: HTTPClient.shared,
                endpoint: configuration.cognitoEndpoint ?? "https://cognito-idp.\(configuration.awsRegion).amazonaws.com",
                region: configuration.awsRegion, service: "cognito-idp", targetPrefix: "AWSCognitoIdentityProviderService",
                jsonVersion: "1.1", credentials: credentials)
            identity = CognitoIdentityProvider(
                client: cognitoClient, userPoolId: configuration.cognitoUserPoolId ?? "", clientId: configuration.cognitoClientId ?? "",
                logger: logger)
            let jwksURL = configuration.cognitoJWKSURL ?? configuration.effectiveIssuer + "/.well-known/jwks.json"
            verifier = TokenVerifier(
                policy: TokenPolicy(issuer: configuration.effectiveIssuer, clientId: configuration.cognitoClientId ?? ""),
                source: .url(jwksURL, HTTPClient.shared), logger: logger)
            // Key sets are built once, in the init phase, not on the first request.
            let keys = await verifier.preload()
            logger.info("JWKS loaded", metadata: ["keys": "\(keys)", "url": "\(jwksURL)"])
            // The pool id is public, so it cannot key the cursors: Cognito needs SHOP_CURSOR_SECRET.
            secretSeed = []
        }
        // Every function must read the cursors the others write: SHOP_CURSOR_SECRET, else derived
        // from the private signing key of the local identity.
        if let given = environment["SHOP_CURSOR_SECRET"], !given.isEmpty { secretSeed = Array(given.utf8) }
        guard secretSeed.count >= 16 else {
            throw ShopConfiguration.Invalid(description: "SHOP_CURSOR_SECRET must be set (16 characters or more) to sign page cursors")
        }
        let cursorSecret = Array(HMAC<SHA256>.authenticationCode(for: Array("serverlessshop-cursor".utf8), using: SymmetricKey(data: secretSeed)))

        let images: any ImageStore
        switch configuration.images {
        case .s3:
            images = S3ImageStore(
                httpClient: HTTPClient.shared, credentials: credentials, region: configuration.awsRegion,
                bucket: configuration.s3Bucket ?? "", endpoint: configuration.s3Endpoint, publicBaseURL: configuration.imageBaseURL)
        case .local:
            images = NoImageStore()
        }
        return ShopServices(
            catalog: CatalogService(store: store),
            orders: OrderService(orders: store, catalog: store, ttl: .seconds(configuration.orderTTLSeconds)),
            identity: identity, verifier: verifier, cursors: CursorCodec(secret: cursorSecret), jwksJSON: jwksJSON,
            images: ImageService(catalog: store, images: images), localImages: nil)
    }
}

/// Images are not configured (`SHOP_IMAGES` other than `s3`): uploads fail as a backend error.
struct NoImageStore: ImageStore {
    func prepareUpload(key: String, contentType: String, expiresAt: Date) async throws(StorageError) -> ImageUpload {
        throw .backend("product images need SHOP_IMAGES=s3 in the Lambda functions")
    }
    func head(key: String) async throws(StorageError) -> StoredImage? { nil }
    func delete(key: String) async throws(StorageError) {}
    func publicURL(key: String) -> String { key }
}
