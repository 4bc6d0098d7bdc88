import Foundation
import Identity
import Logging
import SQLiteStore
import ShopAPI
import ShopDomain

/// The embedded defaults: SQLite, the local token issuer, secrets in the data directory.
struct LocalStack {
    let store: SQLiteStore
    let services: ShopServices
    let identity: LocalIdentityProvider

    static func open(_ configuration: ShopConfiguration, logger: Logger) async throws -> LocalStack {
        let dataDir = configuration.dataDirectory
        let store = try SQLiteStore(directory: dataDir)
        let keysDir = (dataDir as NSString).appendingPathComponent("keys")
        let signingKey = try SigningKey.loadOrCreate(at: (keysDir as NSString).appendingPathComponent("token-signing.pem"))
        let cursorSecret = try SecretFile.randomBytes(at: (keysDir as NSString).appendingPathComponent("cursor.key"))
        let issuer = await LocalTokenIssuer(
            key: signingKey, issuer: configuration.effectiveIssuer, clientId: configuration.clientId,
            lifetime: .seconds(configuration.tokenTTLSeconds))
        let identity = LocalIdentityProvider(users: store, issuer: issuer, bcryptCost: UInt8(configuration.bcryptCost))
        let verifier = TokenVerifier(
            policy: TokenPolicy(issuer: configuration.effectiveIssuer, clientId: configuration.clientId),
            source: .keySet(signingKey.jwksJSON), logger: logger)
        let catalog = CatalogService(store: store)
        let orders = OrderService(orders: store, catalog: store, ttl: .seconds(configuration.orderTTLSeconds))
        let services = ShopServices(
            catalog: catalog, orders: orders, identity: identity, verifier: verifier,
            cursors: CursorCodec(secret: cursorSecret), jwksJSON: signingKey.jwksJSON)
        return LocalStack(store: store, services: services, identity: identity)
    }
}
