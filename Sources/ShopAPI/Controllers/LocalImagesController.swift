import HTTPTypes
import Hummingbird
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The local image store's two routes: the signed upload target and the public images.
struct LocalImagesController<Context: ShopRequestContext>: Sendable {
    let store: any LocalImageFiles

    func addRoutes(to router: Router<Context>) {
        router.put("uploads/products/{productId}/{file}", use: upload)
        router.get("images/products/{productId}/{file}", use: image)
    }

    @Sendable func upload(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let key = "products/\(try context.pathId("productId"))/\(try context.pathId("file"))"
        let contentType = request.headers[.contentType] ?? ""
        do {
            try store.authorizeUpload(
                key: key, contentType: contentType, expires: request.query("expires"), signature: request.query("signature"))
        } catch .invalidURL(let why) {
            throw APIError(.forbidden, "invalid_upload_url", why)
        } catch .expired {
            throw APIError(.forbidden, "upload_url_expired", "The upload URL has expired; ask for a new one.")
        } catch .used {
            throw APIError(.forbidden, "upload_url_used", "This upload URL was used already; ask for a new one.")
        }
        // A URL that was used already is refused before its body is read.
        if store.read(key: key) != nil {
            throw APIError(.forbidden, "upload_url_used", "This upload URL was used already; ask for a new one.")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: ImageRules.maxBytes)
        } catch {
            throw APIError(.contentTooLarge, "image_too_large", "Images must be at most 5 MiB.")
        }
        guard body.readableBytes > 0 else { throw APIError.badRequest("empty_upload", "The upload has no bytes.") }
        do {
            try store.store(key: key, bytes: Array(body.readableBytesView))
        } catch .used {
            throw APIError(.forbidden, "upload_url_used", "This upload URL was used already; ask for a new one.")
        } catch {
            context.logger.error("storing an upload failed", metadata: ["error": "\(error)"])
            throw APIError.internalError
        }
        return .ok
    }

    @Sendable func image(_ request: Request, context: Context) async throws -> Response {
        let key = "products/\(try context.pathId("productId"))/\(try context.pathId("file"))"
        guard let data = store.read(key: key), let type = ImageRules.contentType(ofKey: key) else {
            throw APIError.notFound("Image")
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "public, max-age=31536000, immutable", .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
