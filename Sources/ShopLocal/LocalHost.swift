import AsyncHTTPClient
import Foundation
import Identity
import Logging
import SQLiteStore
import ShopAPI
import ShopAssembly
import ShopStorage

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
}

/// What `shop serve` and its commands open before the assembly runs: the SQLite file (when
/// `SHOP_STORE=sqlite`), the key files and the image files under the data directory.
public enum LocalHost {
    public static func assemble(
        _ configuration: ShopConfiguration, logger: Logger, httpClient: HTTPClient = .shared
    ) async throws -> Assembled {
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
        let host = HostParts(
            stores: stores, localImages: images, secrets: try await secrets.secrets(for: configuration), httpClient: httpClient,
            logger: logger)
        return try await ShopAssembly.assemble(configuration, host: host)
    }
}
