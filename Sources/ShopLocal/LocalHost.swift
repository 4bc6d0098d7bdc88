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

/// The website `shop serve` serves: the files of `SHOP_WEB_DIR` (read once, at start), under a
/// Content-Security-Policy made from the configuration, and the CORS origins.
public enum LocalSite {
    public static func load(_ configuration: ShopConfiguration, logger: Logger) throws -> SiteOptions {
        let web = configuration.web
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: web.directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            if web.directoryRequired { throw ShopConfiguration.Invalid(description: "SHOP_WEB_DIR=\(web.directory) is not a directory") }
            logger.notice("no website: \(web.directory) is not a directory; serving the API only (set SHOP_WEB_DIR)")
            return SiteOptions(corsOrigins: web.corsOrigins)
        }
        var files: [String: [UInt8]] = [:]
        let root = URL(fileURLWithPath: web.directory, isDirectory: true).standardizedFileURL
        guard
            let walker = FileManager.default.enumerator(
                at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        else { throw ShopConfiguration.Invalid(description: "SHOP_WEB_DIR=\(web.directory) cannot be read") }
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(root.path + "/") else { continue }
            let relative = String(path.dropFirst(root.path.count))
            // Files of other types (notes, source maps) are not served; a file that would hide an API route still stops the start.
            guard WebSite.contentType(of: relative) != nil else {
                logger.warning("not serving a web file of unknown type", metadata: ["file": "\(relative)"])
                continue
            }
            files[relative] = Array(try Data(contentsOf: url))
        }
        do {
            let site = try WebSite(files: files, contentSecurityPolicy: contentSecurityPolicy(configuration))
            logger.info("serving the website", metadata: ["directory": "\(web.directory)", "files": "\(files.count)"])
            return SiteOptions(web: site, corsOrigins: web.corsOrigins)
        } catch {
            throw ShopConfiguration.Invalid(description: "SHOP_WEB_DIR=\(web.directory): \(error)")
        }
    }

    /// Stripe.js's origin in Stripe mode; the bucket's origin when images are on S3 (presigned uploads
    /// and image loads); the image CDN's when one is set.
    public static func contentSecurityPolicy(_ configuration: ShopConfiguration) -> String {
        var stripeJS: String?
        if case .stripe = configuration.payments { stripeJS = origin(of: configuration.web.stripeJSURL) }
        var images: [String] = []
        var connect: [String] = []
        if case .s3(let s3) = configuration.images {
            let bucket = origin(of: s3.endpoint ?? "https://\(s3.bucket).s3.\(s3.aws.region).amazonaws.com")
            connect.append(bucket)
            images.append(s3.publicBaseURL.map(origin(of:)) ?? bucket)
        }
        return WebSite.contentSecurityPolicy(stripeJS: stripeJS, imageOrigins: images, connectOrigins: connect)
    }

    /// `scheme://host[:port]` of a URL.
    public static func origin(of url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        return String(url[..<scheme.upperBound] + rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
    }
}

/// What `shop serve` and its commands open before the assembly runs: the SQLite file (when
/// `SHOP_STORE=sqlite`), the key files, the image files and the payment simulator under the data directory.
public enum LocalHost {
    public static func assemble(
        _ configuration: ShopConfiguration, logger: Logger, httpClient: @autoclosure @escaping @Sendable () -> HTTPClient = .shared
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
            httpClient: httpClient(), logger: logger)
        return LocalStack(services: try await ShopAssembly.assemble(configuration, host: host).services, simulator: simulator)
    }
}
