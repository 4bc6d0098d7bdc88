import AWSWire
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import S3ImageStore
import SQLiteStore
import ShopAPI
import ShopDomain
import ShopStorage
import TestServices
import Testing

@Suite("S3 image store (moto)")
struct S3ImageStoreTests {
    static func endpoint() throws -> String { try TestService.moto.endpoint }

    static func plainRequest(_ method: HTTPMethod, _ url: String, headers: [String: String] = [:], body: Data? = nil) async throws
        -> HTTPClientResponse
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        return try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    }

    /// A fresh bucket on moto, a catalog holding `productId`, and the image service over both.
    struct Setup {
        let endpoint: String
        let bucket: String
        let images: S3ImageStore
        let catalog: SQLiteStore
        let service: ImageService
        let dir: String

        init(productId: String) async throws {
            endpoint = try S3ImageStoreTests.endpoint()
            bucket = "images-" + UUID().uuidString.prefix(8).lowercased()
            images = S3ImageStore(
                client: AWSSender(
                    httpClient: HTTPClient.shared, region: "us-east-1", service: "s3",
                    credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing")),
                bucket: bucket, endpoint: endpoint)
            try await images.createBucket()
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("s3-\(UUID().uuidString)").path
            catalog = try SQLiteStore(directory: dir)
            let now = Date(unixMillis: Date().unixMillis)
            try await catalog.createProduct(
                Product(
                    id: productId, name: "Mug", description: "", price: 900, currency: "USD", quantity: 1, category: "kitchen",
                    createdAt: now, updatedAt: now))
            service = ImageService(catalog: catalog, images: images)
        }
    }

    @Test func presignedUploadCommitAndFetch() async throws {
        let setup = try await Setup(productId: "p1")
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let (endpoint, bucket, images, service) = (setup.endpoint, setup.bucket, setup.images, setup.service)

        let upload = try await service.startUpload(productId: "p1", contentType: "image/webp")
        #expect(upload.method == "PUT")
        #expect(upload.uploadUrl.hasPrefix("\(endpoint)/\(bucket)/uploads/products/p1/"), "uploads go to a staging key")
        #expect(upload.uploadUrl.contains("X-Amz-Signature="))
        #expect(upload.uploadUrl.contains("X-Amz-Expires=900"))
        #expect(upload.uploadUrl.contains("X-Amz-SignedHeaders=content-type%3Bhost"))

        // Nothing there yet: committing is refused.
        await #expect(throws: APIError.self) { try await service.commit(productId: "p1", key: upload.key) }

        let bytes = Self.webp(2048)
        let put = try await Self.plainRequest(.PUT, upload.uploadUrl, headers: upload.headers, body: bytes)
        #expect(put.status == .ok)
        let staged = try #require(try await images.head(key: upload.key))
        #expect(staged.size == 2048)
        #expect(staged.contentType == "image/webp")
        #expect(staged.etag != nil)

        let committed = try await service.commit(productId: "p1", key: upload.key)
        let imageUrl = try #require(committed.imageUrl)
        #expect(imageUrl.hasPrefix("\(endpoint)/\(bucket)/products/p1/") && imageUrl.hasSuffix(".webp"), "content-addressed: \(imageUrl)")
        #expect(imageUrl != "\(endpoint)/\(bucket)/\(upload.key)")
        #expect(committed.version == 2)
        #expect(try await images.head(key: upload.key) == nil, "the staging object is gone")
        #expect(try await Self.fetch(imageUrl) == bytes)

        // The URL is still signed for a while; reused, it writes only the staging key: the image does not change.
        let reuse = try await Self.plainRequest(.PUT, upload.uploadUrl, headers: upload.headers, body: Self.webp(100))
        #expect(reuse.status == .ok)
        #expect(try await Self.fetch(imageUrl) == bytes, "the public image is unchanged")
        #expect(try await setup.catalog.product(id: "p1")?.imageUrl == imageUrl)
    }

    @Test func anUploadThatChangesAfterItsCheckIsNotPublished() async throws {
        let setup = try await Setup(productId: "p4")
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let upload = try await setup.service.startUpload(productId: "p4", contentType: "image/webp")
        #expect(try await Self.plainRequest(.PUT, upload.uploadUrl, headers: upload.headers, body: Self.webp(300)).status == .ok)
        let checked = try #require(try await setup.images.head(key: upload.key))
        // The URL's holder swaps the bytes between the check and the publish.
        #expect(try await Self.plainRequest(.PUT, upload.uploadUrl, headers: upload.headers, body: Data("not an image".utf8)).status == .ok)
        await #expect(throws: StorageError.versionMismatch(current: 0)) {
            _ = try await setup.images.leadingBytes(key: upload.key, count: 16, etag: checked.etag)
        }
        await #expect(throws: StorageError.versionMismatch(current: 0)) {
            _ = try await setup.images.publish(key: upload.key, etag: checked.etag)
        }
        #expect(try await setup.catalog.product(id: "p4")?.imageUrl == nil)
    }

    /// Bytes that start as a WebP file does.
    static func webp(_ count: Int) -> Data {
        Data(Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBP".utf8) + (12..<count).map { UInt8($0 % 251) })
    }

    /// The bucket is private (public reads come from a bucket policy or CloudFront in production), so
    /// the test reads an object back through a presigned GET.
    static func fetch(_ url: String) async throws -> Data {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"), region: "us-east-1", service: "s3")
        let fetched = try await plainRequest(.GET, signer.presignedURL(method: "GET", url: url, headers: [], expires: 60, date: Date()))
        #expect(fetched.status == .ok)
        return Data(buffer: try await fetched.body.collect(upTo: 1 << 20))
    }

    @Test func bytesThatAreNotTheDeclaredImageAreRefused() async throws {
        let setup = try await Setup(productId: "p3")
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let upload = try await setup.service.startUpload(productId: "p3", contentType: "image/png")
        let script = Data("<script>alert(1)</script>".utf8)
        #expect(try await Self.plainRequest(.PUT, upload.uploadUrl, headers: upload.headers, body: script).status == .ok)
        await #expect {
            _ = try await setup.service.commit(productId: "p3", key: upload.key)
        } throws: { ($0 as? APIError)?.code == "image_content_mismatch" }
        #expect(try await setup.images.head(key: upload.key) == nil, "removed")
        #expect(try await setup.catalog.product(id: "p3")?.imageUrl == nil)
    }

    @Test func oversizedObjectsAreRemovedAtCommit() async throws {
        let setup = try await Setup(productId: "p2")
        defer { try? FileManager.default.removeItem(atPath: setup.dir) }
        let (images, catalog, service) = (setup.images, setup.catalog, setup.service)
        let upload = try await service.startUpload(productId: "p2", contentType: "image/png")
        let big = Data(repeating: 7, count: ImageRules.maxBytes + 1)
        #expect(try await Self.plainRequest(.PUT, upload.uploadUrl, headers: upload.headers, body: big).status == .ok)
        await #expect(throws: APIError.self) { try await service.commit(productId: "p2", key: upload.key) }
        #expect(try await images.head(key: upload.key) == nil, "the oversized object is gone")
        #expect(try await catalog.product(id: "p2")?.imageUrl == nil)
    }
}
