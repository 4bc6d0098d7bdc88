import AWSWire
import AsyncHTTPClient
import DynamoDBStore
import Foundation
import Identity
import S3ImageStore
import Logging
import SQLiteStore
import ShopAPI
import ShopDomain
import ShopStorage

/// The stores `SHOP_STORE` chose.
struct Stores {
    let catalog: any CatalogStore
    let orders: any OrderStore
    let users: any UserStore

    static func open(_ configuration: ShopConfiguration) throws -> Stores {
        switch configuration.store {
        case .sqlite:
            let store = try SQLiteStore(directory: configuration.dataDirectory)
            return Stores(catalog: store, orders: store, users: store)
        case .dynamodb:
            let store = try dynamoDB(configuration)
            return Stores(catalog: store, orders: store, users: store)
        }
    }

    static func dynamoDB(_ configuration: ShopConfiguration) throws -> DynamoDBStore {
        let environment = ProcessInfo.processInfo.environment
        let client = AWSJSONClient(
            httpClient: HTTPClient.shared,
            endpoint: configuration.dynamoDBEndpoint ?? "https://dynamodb.\(configuration.awsRegion).amazonaws.com",
            region: configuration.awsRegion, service: "dynamodb", targetPrefix: "DynamoDB_20120810", jsonVersion: "1.0",
            credentials: try AWSCredentials.fromEnvironment(environment))
        return DynamoDBStore(client: client, tables: DynamoDBTableNames(environment: environment))
    }
}

/// The running store: the chosen backend, the local token issuer, secrets in the data directory.
struct LocalStack {
    let services: ShopServices
    let identity: any IdentityProvider

    static func open(_ configuration: ShopConfiguration, logger: Logger) async throws -> LocalStack {
        let dataDir = configuration.dataDirectory
        let stores = try Stores.open(configuration)
        let keysDir = (dataDir as NSString).appendingPathComponent("keys")
        let cursorSecret = try SecretFile.randomBytes(at: (keysDir as NSString).appendingPathComponent("cursor.key"))
        let identity: any IdentityProvider
        let verifier: TokenVerifier
        var jwksJSON: String?
        switch configuration.identity {
        case .local:
            let signingKey = try SigningKey.loadOrCreate(at: (keysDir as NSString).appendingPathComponent("token-signing.pem"))
            let issuer = await LocalTokenIssuer(
                key: signingKey, issuer: configuration.effectiveIssuer, clientId: configuration.clientId,
                lifetime: .seconds(configuration.tokenTTLSeconds))
            identity = LocalIdentityProvider(users: stores.users, issuer: issuer, bcryptCost: UInt8(configuration.bcryptCost))
            verifier = TokenVerifier(
                policy: TokenPolicy(issuer: configuration.effectiveIssuer, clientId: configuration.clientId),
                source: .keySet(signingKey.jwksJSON), logger: logger)
            jwksJSON = signingKey.jwksJSON
        case .cognito:
            let cognito = try Self.cognito(configuration, logger: logger)
            identity = cognito
            let jwksURL = configuration.cognitoJWKSURL ?? configuration.effectiveIssuer + "/.well-known/jwks.json"
            verifier = TokenVerifier(
                policy: TokenPolicy(issuer: configuration.effectiveIssuer, clientId: configuration.cognitoClientId ?? ""),
                source: .url(jwksURL, HTTPClient.shared), logger: logger)
        }
        let catalog = CatalogService(store: stores.catalog)
        let orders = OrderService(orders: stores.orders, catalog: stores.catalog, ttl: .seconds(configuration.orderTTLSeconds))
        let imageStore: any ImageStore
        var localImages: LocalImageStore?
        switch configuration.images {
        case .local:
            let uploadSecret = try SecretFile.randomBytes(at: (keysDir as NSString).appendingPathComponent("upload.key"))
            let local = LocalImageStore(directory: (dataDir as NSString).appendingPathComponent("images"), secret: uploadSecret)
            imageStore = local
            localImages = local
        case .s3:
            imageStore = S3ImageStore(
                httpClient: HTTPClient.shared, credentials: try AWSCredentials.fromEnvironment(ProcessInfo.processInfo.environment),
                region: configuration.awsRegion, bucket: configuration.s3Bucket ?? "", endpoint: configuration.s3Endpoint,
                publicBaseURL: configuration.imageBaseURL)
        }
        let services = ShopServices(
            catalog: catalog, orders: orders, identity: identity, verifier: verifier,
            cursors: CursorCodec(secret: cursorSecret), jwksJSON: jwksJSON,
            images: ImageService(catalog: stores.catalog, images: imageStore), localImages: localImages)
        return LocalStack(services: services, identity: identity)
    }

    static func cognito(_ configuration: ShopConfiguration, logger: Logger) throws -> CognitoIdentityProvider {
        let client = AWSJSONClient(
            httpClient: HTTPClient.shared,
            endpoint: configuration.cognitoEndpoint ?? "https://cognito-idp.\(configuration.awsRegion).amazonaws.com",
            region: configuration.awsRegion, service: "cognito-idp", targetPrefix: "AWSCognitoIdentityProviderService",
            jsonVersion: "1.1", credentials: try AWSCredentials.fromEnvironment(ProcessInfo.processInfo.environment))
        return CognitoIdentityProvider(
            client: client, userPoolId: configuration.cognitoUserPoolId ?? "", clientId: configuration.cognitoClientId ?? "", logger: logger)
    }
}
