import AsyncHTTPClient
import Foundation
import Identity
import Logging
import SQLiteStore
import ShopAPI
import ShopAssembly
import ShopStorage
import ShopSupport

/// `shop serve`'s secrets: files under `<data dir>/keys/`, created on first use (mode 0600).
public struct KeyFileSecrets: SecretsSource {
    let directory: String

    public init(dataDirectory: String) {
        directory = (dataDirectory as NSString).appendingPathComponent("keys")
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    public func secrets(for configuration: ShopConfiguration) async throws -> ShopSecrets {
        var signingKey: SigningKey?
        if case .local = configuration.identity {
            signingKey = try SigningKey.loadOrCreate(at: path("token-signing.pem"))
        }
        return ShopSecrets(cursorSecret: try SecretFile.randomBytes(at: path("cursor.key")), tokenSigningKey: signingKey)
    }

    /// The key that signs local upload URLs.
    public func uploadSecret() throws -> [UInt8] {
        try SecretFile.randomBytes(at: path("upload.key"))
    }

    /// The simulator's webhook signing secret (`whsec_...`), made on first use.
    public func webhookSecret() throws -> String {
        "whsec_" + (try SecretFile.randomBytes(at: path("webhook.key"))).hexEncoded
    }
}

/// What `shop serve` and its commands run on: the assembled services, and the simulated gateway when
/// `SHOP_PAYMENTS=simulated` (its webhook delivery runs inside `shop serve`).
public struct LocalStack: Sendable {
    public var services: ShopServices
    public var simulator: SimulatedGateway?
}

/// What `shop serve` and its commands open before the assembly runs: the SQLite file (when
/// `SHOP_STORE=sqlite`), the key files, the image files and the payment simulator under the data directory.
public enum LocalHost {
    public static func assemble(
        _ configuration: ShopConfiguration, logger: Logger, httpClient: HTTPClient = .shared
    ) async throws -> LocalStack {
        let secrets = KeyFileSecrets(dataDirectory: configuration.dataDirectory)
        var stores: ShopStores?
        if case .sqlite(let directory) = configuration.store {
            stores = ShopStores(try SQLiteStore(directory: directory))
        }
        var images: LocalImageStore?
        if configuration.images == .local {
            images = LocalImageStore(
                directory: (configuration.dataDirectory as NSString).appendingPathComponent("images"), secret: try secrets.uploadSecret())
        }
        var simulator: SimulatedGateway?
        if case .simulated(let settings) = configuration.payments {
            simulator = try SimulatedGateway(
                path: (configuration.dataDirectory as NSString).appendingPathComponent("simulator.sqlite"),
                webhookSecret: try settings.webhookSecret?.value ?? secrets.webhookSecret(), webhookURL: settings.webhookURL,
                logger: logger)
        }
        let host = HostParts(
            stores: stores, localImages: images, simulatedPayments: simulator, secrets: try await secrets.secrets(for: configuration),
            httpClient: httpClient, logger: logger)
        return LocalStack(services: try await ShopAssembly.assemble(configuration, host: host).services, simulator: simulator)
    }
}
