#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a client uploads an image: a presigned S3 PUT, or a signed local URL.
public struct ImageUpload: Sendable, Codable, Equatable {
    public var uploadUrl: String
    public var method: String
    /// Headers the client must send with the upload (the content type is bound into the signature).
    public var headers: [String: String]
    public var key: String
    public var expiresAt: Date
    public init(uploadUrl: String, method: String = "PUT", headers: [String: String], key: String, expiresAt: Date) {
        self.uploadUrl = uploadUrl
        self.method = method
        self.headers = headers
        self.key = key
        self.expiresAt = expiresAt
    }
}

/// An uploaded object, as a `HEAD` sees it.
public struct StoredImage: Sendable, Equatable {
    public var size: Int
    public var contentType: String?
    /// The object's version as the store names it (S3's ETag): the checks and the publish at commit all
    /// apply to this version, so an upload that changes in between is not published unchecked.
    public var etag: String?
    public init(size: Int, contentType: String?, etag: String? = nil) {
        self.size = size
        self.contentType = contentType
        self.etag = etag
    }
}

/// Product images: S3 in AWS, files in the data directory locally.
public protocol ImageStore: Sendable {
    /// A URL the client may PUT `contentType` bytes to under `key` until `expiresAt`.
    func prepareUpload(key: String, contentType: String, expiresAt: Date) async throws(StorageError) -> ImageUpload
    /// The object under `key`, or nil if nothing was uploaded.
    func head(key: String) async throws(StorageError) -> StoredImage?
    /// The first `count` bytes of the object's version `etag` (fewer if it is shorter), to check them
    /// against its type; `.versionMismatch` if the object changed since `head`.
    func leadingBytes(key: String, count: Int, etag: String?) async throws(StorageError) -> [UInt8]
    /// Removes the upload (used when it breaks the rules).
    func delete(key: String) async throws(StorageError)
    /// Makes a checked upload the product's image for good and returns the URL shoppers load it from.
    /// After this, the upload URL changes nothing public: it is single-use.
    /// `.versionMismatch` if the object is no longer the version `etag` that was checked.
    func publish(key: String, etag: String?) async throws(StorageError) -> String
}

/// The rules every image store applies.
public enum ImageRules {
    public static let allowedTypes: [String: String] = ["image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"]
    public static let maxBytes = 5 * 1024 * 1024
    /// Upload URLs live at most this long.
    public static let uploadLifetime: Double = 15 * 60

    /// Whether `bytes` (an image's first bytes) start the way `contentType` says: JPEG `FF D8 FF`,
    /// PNG's 8-byte signature, WebP's `RIFF....WEBP`.
    public static func contentMatches(_ bytes: [UInt8], contentType: String) -> Bool {
        switch contentType.lowercased() {
        case "image/jpeg": bytes.starts(with: [0xFF, 0xD8, 0xFF])
        case "image/png": bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        case "image/webp": bytes.count >= 12 && bytes.starts(with: Array("RIFF".utf8)) && Array(bytes[8..<12]) == Array("WEBP".utf8)
        default: false
        }
    }
}

extension ImageRules {
    /// The content type an image key's extension stands for, or nil for any other extension.
    public static func contentType(ofKey key: String) -> String? {
        guard let dot = key.lastIndex(of: "."), !key[dot...].contains("/") else { return nil }
        let ext = key[key.index(after: dot)...].lowercased()
        return allowedTypes.first { $0.value == ext }?.key
    }
}

/// Why a local upload URL was refused.
public enum UploadRefusal: Error, Sendable, Equatable {
    /// Missing, malformed or wrongly signed (another path or content type).
    case invalidURL(String)
    case expired
    /// Something was uploaded with this URL already: upload URLs are single-use.
    case used
}

/// An image store whose files this server itself receives and serves (`shop serve` without S3):
/// the upload target checks the signed URL, then the bytes are stored and served from here.
public protocol LocalImageFiles: ImageStore {
    /// Checks an upload URL's signature and expiry for `key` and `contentType`.
    func authorizeUpload(key: String, contentType: String, expires: String?, signature: String?) throws(UploadRefusal)
    /// Stores the bytes (already checked for size and signature), atomically and once.
    func store(key: String, bytes: [UInt8]) throws(UploadRefusal)
    /// The stored bytes, or nil.
    func read(key: String) -> [UInt8]?
}
