import AWSWire
import AsyncHTTPClient
import Foundation
import S3ImageStore
import SQLiteStore
import ShopAPI
import ShopDomain
import ShopStorage
import Testing

/// Real S3 answers a HEAD of a missing key with 403, not 404, to a caller without `s3:ListBucket` on the
/// bucket, which the deployed products role is not granted (docs/DEPLOY.md, "Image commit"). moto answers
/// 404 to anyone, so these tests put an S3 stand-in (S3StandIn) in its place; they need no moto.
@Suite("S3 image store: a HEAD answered 403, as S3 answers a role without s3:ListBucket")
struct ForbiddenHeadTests {
    static func images(_ endpoint: String) -> S3ImageStore {
        S3ImageStore(
            client: AWSSender(
                httpClient: HTTPClient.shared, region: "us-east-1", service: "s3",
                credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing")),
            bucket: "images", endpoint: endpoint)
    }

    /// S3 without `s3:ListBucket`: every HEAD is 403 (no body), every GET of the key is `getAnswer`.
    static func standIn(get getAnswer: S3StandIn.Answer) -> S3StandIn {
        S3StandIn { method, _ in method == "HEAD" ? S3StandIn.Answer(status: 403) : getAnswer }
    }

    @Test func aMissingUploadAnswered403IsNotUploaded() async throws {
        let s3 = Self.standIn(get: .error(403, code: "AccessDenied"))
        let found = try await s3.run { endpoint in try await Self.images(endpoint).head(key: "products/p1/a.webp") }
        #expect(found == nil)
        #expect(s3.requests.map(\.method) == ["HEAD", "GET"], "the 403's reason is read from a GET of the same key")
        #expect(s3.requests.allSatisfy { $0.path == "/images/uploads/products/p1/a.webp" })
    }

    @Test func committingAnImageNeverUploadedIs409NotUploaded() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s3-403-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try SQLiteStore(directory: dir)
        let now = Date(unixMillis: Date().unixMillis)
        try await catalog.createProduct(
            Product(
                id: "p1", name: "Mug", description: "", price: 900, currency: "USD", quantity: 1, category: "kitchen",
                createdAt: now, updatedAt: now))
        let s3 = Self.standIn(get: .error(403, code: "AccessDenied"))
        try await s3.run { endpoint in
            let service = ImageService(catalog: catalog, images: Self.images(endpoint))
            await #expect {
                _ = try await service.commit(productId: "p1", key: "products/p1/never-uploaded.webp")
            } throws: { error in
                let error = error as? APIError
                return error?.code == "image_not_uploaded" && error?.status.code == 409
            }
        }
        #expect(try await catalog.product(id: "p1")?.imageUrl == nil)
    }

    @Test func a403ThatIsNotAccessDeniedStaysAnError() async throws {
        // A wrong signature or a skewed clock is answered 403 too; it must not pass as "not uploaded".
        for code in ["SignatureDoesNotMatch", "RequestTimeTooSkewed", "InvalidAccessKeyId"] {
            let s3 = Self.standIn(get: .error(403, code: code))
            try await s3.run { endpoint in
                await #expect {
                    _ = try await Self.images(endpoint).head(key: "products/p1/a.webp")
                } throws: { error in
                    guard case .backend(let message)? = error as? StorageError else { return false }
                    return message.contains(code)
                }
            }
        }
    }

    @Test func a403HeadThenA404GetIsNotUploaded() async throws {
        let s3 = Self.standIn(get: .error(404, code: "NoSuchKey"))
        let found = try await s3.run { endpoint in try await Self.images(endpoint).head(key: "products/p1/a.webp") }
        #expect(found == nil)
    }

    @Test func otherHeadStatusesStayErrors() async throws {
        let s3 = S3StandIn { _, _ in S3StandIn.Answer(status: 400) }
        try await s3.run { endpoint in
            await #expect(throws: StorageError.self) { _ = try await Self.images(endpoint).head(key: "products/p1/a.webp") }
        }
        #expect(s3.requests.map(\.method) == ["HEAD"])
    }
}
