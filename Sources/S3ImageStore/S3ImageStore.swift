import AWSWire
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Product images in an S3 bucket: presigned PUTs for uploads (content type bound into the signature)
/// to a staging key, checked at commit (HEAD for the size and type, a ranged GET for the first bytes),
/// then copied to a content-addressed key (named by the object's ETag) that shoppers load, and the
/// staging object deleted. A presigned URL stays usable for its 15 minutes, but a reused one only ever
/// writes the staging key: nothing public changes.
public struct S3ImageStore: ImageStore {
    let client: AWSSender
    let bucket: String
    /// Path-style base for an endpoint override (moto), virtual-hosted otherwise.
    let objectBase: String
    let publicBase: String
    let clock: WallClock

    /// - Parameters:
    ///   - endpoint: an override such as moto's `http://127.0.0.1:PORT` (path-style URLs); nil for AWS.
    ///   - publicBaseURL: where shoppers load images from (a CloudFront domain, say); defaults to the bucket's URL.
    ///   - client: the send layer, made for service `s3` in the bucket's region.
    public init(client: AWSSender, bucket: String, endpoint: String? = nil, publicBaseURL: String? = nil, clock: WallClock = .system) {
        self.client = client
        let region = client.signer.region
        self.bucket = bucket
        if let endpoint {
            objectBase = endpoint.hasSuffix("/") ? endpoint + bucket : endpoint + "/" + bucket
        } else {
            objectBase = "https://\(bucket).s3.\(region).amazonaws.com"
        }
        publicBase = publicBaseURL ?? objectBase
        self.clock = clock
    }

    func objectURL(_ key: String) -> String { objectBase + "/" + AWSURI.encodePath(key) }

    /// Where the browser uploads `key` (`products/<id>/<uuid>.<ext>`) before it is checked.
    static func stagingKey(_ key: String) -> String { "uploads/" + key }

    public func prepareUpload(key: String, contentType: String, expiresAt: Date) async throws(StorageError) -> ImageUpload {
        let now = clock.now()
        let expires = max(1, min(Int(ImageRules.uploadLifetime), Int(expiresAt.timeIntervalSince(now).rounded(.down))))
        let url = client.signer.presignedURL(
            method: "PUT", url: objectURL(Self.stagingKey(key)), headers: [("Content-Type", contentType)], expires: expires, date: now)
        return ImageUpload(
            uploadUrl: url, headers: ["Content-Type": contentType], key: key, expiresAt: now.addingTimeInterval(Double(expires)))
    }

    /// Sends a signed request with an empty body through the shared send layer. HEAD, DELETE and
    /// CreateBucket are all safe to repeat, so every retry is allowed; any status is handed back.
    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = []) async throws(StorageError) -> AWSResponse {
        do {
            return try await client.send(
                AWSRequest(method: method, url: url, headers: headers, includeContentSHA256: true), safety: .idempotent,
                operation: "S3 \(method.rawValue)", accepts: { $0 < 500 })
        } catch {
            throw .backend("S3 \(method.rawValue): \(error)")
        }
    }

    /// The staging object's size, type and ETag, or nil when nothing has been uploaded under `key`.
    ///
    /// S3 answers a HEAD of a missing key with 404 only to a caller allowed `s3:ListBucket` on the
    /// bucket; to anyone else it answers 403, so that keys cannot be probed. The products role is not
    /// granted `s3:ListBucket` (docs/DEPLOY.md, "Image commit"): IAM cannot narrow it to `uploads/` for
    /// a HEAD (an `s3:prefix` condition only applies to listings), so the grant would let the function
    /// list every key in the bucket, and nothing on moto could show it used. A 403 is therefore read as
    /// "not uploaded", but only after a ranged GET of the same key (a HEAD's answer has no body) says why:
    /// `AccessDenied` is a missing object (or a role without `s3:GetObject` on `uploads/`, which would break
    /// every commit anyway); any other reason (`SignatureDoesNotMatch`, `RequestTimeTooSkewed`,
    /// `InvalidAccessKeyId`...) stays an error instead of passing as 409 `image_not_uploaded`.
    public func head(key: String) async throws(StorageError) -> StoredImage? {
        let url = objectURL(Self.stagingKey(key))
        let response = try await send(.HEAD, url)
        switch response.status {
        case 200:
            let size = response.header("content-length").flatMap(Int.init) ?? 0
            return StoredImage(size: size, contentType: response.header("content-type"), etag: response.header("etag"))
        case 404: return nil
        case 403:
            let probe = try await send(.GET, url, headers: [("Range", "bytes=0-0")])
            let code = Self.errorCode(probe.body)
            if probe.status == 404 || (probe.status == 403 && code == "AccessDenied") { return nil }
            throw .backend("S3 HEAD answered 403; a GET of the same key answered \(probe.status) \(code ?? "without an error code")")
        default: throw .backend("S3 HEAD answered \(response.status)")
        }
    }

    /// `<Code>...</Code>` of an S3 error document.
    static func errorCode(_ body: [UInt8]) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        guard let start = text.firstRange(of: "<Code>"), let end = text[start.upperBound...].firstRange(of: "</Code>") else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    public func leadingBytes(key: String, count: Int, etag: String?) async throws(StorageError) -> [UInt8] {
        var headers = [("Range", "bytes=0-\(max(count, 1) - 1)")]
        if let etag { headers.append(("If-Match", etag)) }
        let response = try await send(.GET, objectURL(Self.stagingKey(key)), headers: headers)
        if response.status == 412 { throw .versionMismatch(current: 0) }
        guard response.status == 200 || response.status == 206 else { throw .backend("S3 GET answered \(response.status)") }
        return Array(response.body.prefix(count))
    }

    /// Copies the staging object to `products/<id>/<etag>.<ext>` and deletes the staging object.
    public func publish(key: String, etag checked: String?) async throws(StorageError) -> String {
        let staging = Self.stagingKey(key)
        let head = try await send(.HEAD, objectURL(staging))
        guard head.status == 200, let current = head.header("etag"), !current.isEmpty else {
            throw .backend("S3 HEAD of the upload answered \(head.status)")
        }
        if let checked, checked != current { throw .versionMismatch(current: 0) }
        let etag = current.filter { $0 != "\"" }
        let folder = key.split(separator: "/").dropLast().joined(separator: "/")
        let ext = key.split(separator: ".").last.map(String.init) ?? "bin"
        let final = "\(folder)/\(etag).\(ext)"
        // Copying the same bytes to the same key again is harmless: safe to repeat.
        // Copied only if it is still the version that was checked.
        let copy = try await send(
            .PUT, objectURL(final),
            headers: [("x-amz-copy-source", "/\(bucket)/\(AWSURI.encodePath(staging))"), ("x-amz-copy-source-if-match", current)])
        if copy.status == 412 { throw .versionMismatch(current: 0) }
        guard (200..<300).contains(copy.status), !String(decoding: copy.body, as: UTF8.self).contains("<Error>") else {
            throw .backend("S3 CopyObject answered \(copy.status)")
        }
        try await delete(key: key)
        return publicBase + "/" + AWSURI.encodePath(final)
    }

    public func delete(key: String) async throws(StorageError) {
        let response = try await send(.DELETE, objectURL(Self.stagingKey(key)))
        guard (200..<300).contains(response.status) || response.status == 404 else {
            throw .backend("S3 DELETE answered \(response.status)")
        }
    }

    /// Creates the bucket (moto and tests; production buckets come from the SAM template).
    public func createBucket() async throws(StorageError) {
        let response = try await send(.PUT, objectBase)
        guard (200..<300).contains(response.status) || response.status == 409 else {
            throw .backend("S3 CreateBucket answered \(response.status)")
        }
    }
}
