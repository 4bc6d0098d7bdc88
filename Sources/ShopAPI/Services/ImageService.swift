import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Product images: hands out upload URLs, and points a product at an image only once
/// the image is really there and within the rules.
public struct ImageService: Sendable {
    let catalog: any CatalogStore
    /// Nil where this host has no image storage (a Lambda function without `SHOP_IMAGES=s3`).
    let store: (any ImageStore)?
    let clock: WallClock

    public init(catalog: any CatalogStore, images: (any ImageStore)?, clock: WallClock = .system) {
        self.catalog = catalog
        self.store = images
        self.clock = clock
    }

    /// The image store, or 501 `images_not_configured`: not a failure of the server, a feature this host lacks.
    var images: any ImageStore {
        get throws(APIError) {
            guard let store else {
                throw APIError(
                    .notImplemented, "images_not_configured",
                    "Product images are not configured here; the deployment needs SHOP_IMAGES=s3 (with SHOP_S3_BUCKET).")
            }
            return store
        }
    }

    public func startUpload(productId: String, variantId: String? = nil, contentType: String) async throws(APIError) -> ImageUpload {
        let images = try images
        let type = contentType.lowercased().trimmingWhitespace()
        guard let ext = ImageRules.allowedTypes[type] else {
            throw APIError.badRequest(
                "unsupported_image_type", "Images must be image/jpeg, image/png or image/webp.",
                details: .object(["allowed": .array(ImageRules.allowedTypes.keys.sorted().map { .string($0) })]))
        }
        guard let product = try await mapped(try await catalog.product(id: productId)) else {
            throw .notFound("Product \(productId)")
        }
        if let variantId, product.variant(id: variantId) == nil {
            throw CatalogService.variantNotFound(productId: productId, variantId: variantId)
        }
        let key = "products/\(productId)/\(UUID().uuidString.lowercased()).\(ext)"
        let expiresAt = clock.now().addingTimeInterval(ImageRules.uploadLifetime)
        return try await mapped(try await images.prepareUpload(key: key, contentType: type, expiresAt: expiresAt))
    }

    public func commit(productId: String, variantId: String? = nil, key: String) async throws(APIError) -> Product {
        let images = try images
        guard key.hasPrefix("products/\(productId)/"), !key.contains(".."), key.count <= 300 else {
            throw .badRequest("invalid_image_key", "The key is not an upload key for this product.")
        }
        guard let stored = try await mapped(try await images.head(key: key)) else {
            throw APIError(.conflict, "image_not_uploaded", "Nothing has been uploaded under this key yet; upload the image first.")
        }
        // S3 cannot cap a presigned PUT's size, so the cap is enforced here: an oversized
        // or mistyped object is removed and never becomes a product's image.
        if stored.size > ImageRules.maxBytes || stored.size == 0 {
            try? await images.delete(key: key)
            throw APIError(.conflict, "image_too_large", "Images must be 1 byte to 5 MiB; upload a smaller one.")
        }
        if let type = stored.contentType, ImageRules.allowedTypes[type.lowercased()] == nil {
            try? await images.delete(key: key)
            throw .badRequest("unsupported_image_type", "Images must be image/jpeg, image/png or image/webp.")
        }
        // The bytes must be the image the type names: a script uploaded as image/png is not served as one.
        let changed = APIError(.conflict, "image_changed", "The upload changed while it was being checked; commit it again.")
        let leading: [UInt8]
        do {
            leading = try await images.leadingBytes(key: key, count: 16, etag: stored.etag)
        } catch .versionMismatch {
            throw changed
        } catch {
            throw APIError(unexpected: error)
        }
        guard let type = stored.contentType ?? ImageRules.contentType(ofKey: key), ImageRules.contentMatches(leading, contentType: type)
        else {
            try? await images.delete(key: key)
            throw APIError(
                .conflict, "image_content_mismatch",
                "The uploaded bytes are not a \(stored.contentType ?? "declared") image; upload the image again.")
        }
        let url: String
        do {
            url = try await images.publish(key: key, etag: stored.etag)
        } catch .versionMismatch {
            throw changed
        } catch {
            throw APIError(unexpected: error)
        }
        do {
            return try await catalog.setProductImage(id: productId, variantId: variantId, imageUrl: url, at: clock.now())
        } catch .notFound {
            throw .notFound("Product \(productId)")
        } catch .variantNotFound(let productId, let variantId) {
            throw CatalogService.variantNotFound(productId: productId, variantId: variantId)
        } catch {
            throw APIError(unexpected: error)
        }
    }
}
