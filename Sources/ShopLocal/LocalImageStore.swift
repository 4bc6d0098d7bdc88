import Crypto
import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Images as files under `<data dir>/images`, uploaded through signed, expiring URLs
/// on `shop serve` itself (an HMAC over path, content type and expiry).
public struct LocalImageStore: LocalImageFiles {
    let directory: String
    let key: SymmetricKey
    let clock: WallClock

    public init(directory: String, secret: [UInt8], clock: WallClock = .system) {
        self.directory = directory
        key = SymmetricKey(data: secret)
        self.clock = clock
    }

    /// Image keys are `products/<product id>/<name>.<ext>`, nothing else.
    static func isValidKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "products" else { return false }
        return parts.dropFirst().allSatisfy { part in
            !part.isEmpty && part.count <= 100 && !part.hasPrefix(".")
                && part.utf8.allSatisfy {
                    $0 == 45 || $0 == 46 || $0 == 95 || ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122)
                }
        }
    }

    func signature(key imageKey: String, contentType: String, expires: Int64) -> String {
        let message = "PUT\n/uploads/\(imageKey)\n\(contentType)\n\(expires)"
        return Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).base64URLEncoded()
    }

    public func prepareUpload(key imageKey: String, contentType: String, expiresAt: Date) async throws(StorageError) -> ImageUpload {
        let expires = Int64(expiresAt.timeIntervalSince1970.rounded(.down))
        let query = "expires=\(expires)&signature=\(signature(key: imageKey, contentType: contentType, expires: expires))"
        return ImageUpload(
            uploadUrl: "/uploads/\(imageKey)?\(query)", headers: ["Content-Type": contentType], key: imageKey,
            expiresAt: Date(timeIntervalSince1970: Double(expires)))
    }

    /// Checks an upload's URL: refused for a wrong, tampered or expired signature.
    public func authorizeUpload(key imageKey: String, contentType: String, expires: String?, signature given: String?) throws(UploadRefusal)
    {
        guard let expires, let seconds = Int64(expires), let given, Self.isValidKey(imageKey) else {
            throw .invalidURL("The upload URL is not valid.")
        }
        let expected = signature(key: imageKey, contentType: contentType, expires: seconds)
        // Constant-time comparison: the signature is a secret-derived value.
        guard expected.utf8.count == given.utf8.count, zip(expected.utf8, given.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw .invalidURL("The upload URL's signature does not match (wrong URL or content type).")
        }
        guard Double(seconds) >= clock.now().timeIntervalSince1970 else { throw .expired }
    }

    func path(_ imageKey: String) -> String { URL(fileURLWithPath: directory).appendingPathComponent(imageKey).path }

    /// Stores the bytes once: written to a temporary file, then linked into place, which fails if an upload
    /// is already there. A signed URL is therefore single-use, before and after commit.
    public func store(key imageKey: String, bytes: [UInt8]) throws(UploadRefusal) {
        let destination = path(imageKey)
        let temporary = destination + ".part-\(UUID().uuidString)"
        do {
            try FileManager.default.createDirectory(
                atPath: URL(fileURLWithPath: destination).deletingLastPathComponent().path, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw .invalidURL("The upload could not be stored.")
        }
        defer { unlink(temporary) }
        guard link(temporary, destination) == 0 else {
            if errno == EEXIST { throw .used }
            throw .invalidURL("The upload could not be stored (errno \(errno)).")
        }
    }

    public func read(key imageKey: String) -> [UInt8]? {
        guard Self.isValidKey(imageKey) else { return nil }
        return FileManager.default.contents(atPath: path(imageKey)).map { [UInt8]($0) }
    }

    public func head(key imageKey: String) async throws(StorageError) -> StoredImage? {
        guard Self.isValidKey(imageKey),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path(imageKey)),
            let size = Self.fileSize(attributes[.size])
        else { return nil }
        return StoredImage(size: size, contentType: ImageRules.contentType(ofKey: imageKey))
    }

    /// FileManager reports sizes as some integer type, depending on the Foundation in use.
    static func fileSize(_ value: Any?) -> Int? {
        switch value {
        case let size as Int: size
        case let size as UInt64: Int(exactly: size)
        case let size as Int64: Int(exactly: size)
        default: nil
        }
    }

    public func delete(key imageKey: String) async throws(StorageError) {
        guard Self.isValidKey(imageKey) else { return }
        try? FileManager.default.removeItem(atPath: path(imageKey))
    }

    /// Local uploads are written once (`store` never overwrites), so there is no other version to guard against.
    public func leadingBytes(key imageKey: String, count: Int, etag: String?) async throws(StorageError) -> [UInt8] {
        // Uploads are at most 5 MiB: reading the file is simpler than a partial read, and as cheap.
        Array((read(key: imageKey) ?? []).prefix(count))
    }

    /// The file is already where it is served from; the URL stays single-use because `store` never overwrites.
    public func publish(key imageKey: String, etag: String?) async throws(StorageError) -> String { "/images/\(imageKey)" }
}
