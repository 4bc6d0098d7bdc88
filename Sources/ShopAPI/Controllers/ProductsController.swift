import Hummingbird
import ShopDomain
import ShopStorage
import ShopSupport

/// `/products`: anyone reads, admins write.
struct ProductsController<Context: ShopRequestContext>: Sendable {
    let catalog: CatalogService
    let images: ImageService
    let cursors: CursorCodec
    /// `SHOP_PUBLIC_URL`, without a trailing slash.
    let publicURL: String?
    /// A product created without a `currency` gets the settings' one.
    let settings: SettingsService

    /// The body of `POST /products` and `PUT /products/{id}`.
    struct ProductInput: Decodable {
        var name: String
        var description: String?
        /// The one variant's price; with `variants` (whose prices are theirs) it is ignored.
        var price: Int?
        var currency: String?
        var category: String
        /// Initial stock of the default variant, on create only; stock changes go through `/stock`.
        var quantity: Int?
        var options: [ProductOption]?
        var variants: [VariantInput]?

        struct VariantInput: Decodable {
            var id: String?
            var sku: String?
            var options: [String: String]?
            var price: Int
            var quantity: Int?
        }

        /// Without a `currency`, the store settings' one.
        func draft(_ settings: SettingsService) async throws(APIError) -> ProductDraft {
            let currency: String
            if let given = self.currency { currency = given } else { currency = try await settings.current().currency }
            return ProductDraft(
                fields: ProductFields(
                    name: name, description: description ?? "", price: price ?? 0, currency: currency, category: category),
                hasPrice: price != nil && variants == nil, quantity: quantity ?? 0, options: options,
                variants: variants?.map {
                    VariantSpec(id: $0.id, sku: $0.sku, options: $0.options ?? [:], price: $0.price, quantity: $0.quantity)
                })
        }
    }

    struct StockInput: Decodable {
        var delta: Int
    }

    struct ImageInput: Decodable {
        var contentType: String
    }

    struct CommitInput: Decodable {
        var key: String
    }

    func addRoutes(to router: Router<Context>) {
        let group = router.group("products")
        group.get(use: list)
        group.post(use: create)
        group.get("{id}", use: get)
        group.put("{id}", use: update)
        group.delete("{id}", use: delete)
        group.post("{id}/stock", use: stock)
        group.post("{id}/image", use: startImageUpload)
        group.post("{id}/image/commit", use: commitImage)
        group.post("{id}/variants/{variantId}/stock", use: stock)
        group.post("{id}/variants/{variantId}/image", use: startImageUpload)
        group.post("{id}/variants/{variantId}/image/commit", use: commitImage)
    }

    /// The `{variantId}` of a variant route, nil on a product route.
    static func variantId(_ context: Context) throws -> String? {
        context.parameters.get("variantId") == nil ? nil : try context.pathId("variantId")
    }

    @Sendable func startImageUpload(_ request: Request, context: Context) async throws -> EditedResponse<ImageUpload> {
        _ = try context.requireAdmin()
        let input = try await request.decode(as: ImageInput.self, context: context)
        var upload = try await images.startUpload(
            productId: try context.pathId(), variantId: try Self.variantId(context), contentType: input.contentType)
        // A local upload URL is a path on this server: make it absolute for the caller, on the public address when
        // one is set (behind TLS the request itself arrives as plain HTTP and cannot tell).
        if upload.uploadUrl.hasPrefix("/") {
            if let publicURL {
                upload.uploadUrl = publicURL + upload.uploadUrl
            } else if let host = request.head.authority {
                upload.uploadUrl = "http://\(host)\(upload.uploadUrl)"
            }
        }
        return EditedResponse(headers: [.cacheControl: "no-store"], response: upload)
    }

    @Sendable func commitImage(_ request: Request, context: Context) async throws -> EditedResponse<Product> {
        _ = try context.requireAdmin()
        let input = try await request.decode(as: CommitInput.self, context: context)
        return Self.tagged(try await images.commit(productId: try context.pathId(), variantId: try Self.variantId(context), key: input.key))
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let limit = try request.queryInt("limit", in: Limits.pageSizeRange, default: Limits.defaultPageSize)
        let category = request.query("category")
        if let category, !Limits.fits(category, Limits.categoryMax) {
            throw APIError.badRequest(
                "invalid_parameter", "'category' must be at most \(Limits.categoryMax) characters (\(4 * Limits.categoryMax) bytes).")
        }
        let scope = "products|\(category ?? "")"
        let after = try request.query("cursor").map { cursor throws(APIError) in try cursors.decode(cursor, scope: scope) }
        let page = try await catalog.list(category: category, limit: limit, after: after)
        let nextCursor = page.nextKey.map { cursors.encode($0, scope: scope) }
        let etag = EntityTags.page(page.items, nextCursor: nextCursor)
        if EntityTags.matches(request.headers[.ifNoneMatch], etag, wildcard: true) {
            return Response(status: .notModified, headers: [.eTag: etag])
        }
        return JSONCoding.response(products: page.items, nextCursor: nextCursor, headers: [.eTag: etag])
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> Response {
        let product = try await catalog.get(id: try context.pathId())
        let etag = product.entityTag
        if EntityTags.matches(request.headers[.ifNoneMatch], etag, wildcard: true) {
            return Response(status: .notModified, headers: [.eTag: etag])
        }
        return JSONCoding.response(product: product, headers: [.eTag: etag])
    }

    @Sendable func create(_ request: Request, context: Context) async throws -> EditedResponse<Product> {
        _ = try context.requireAdmin()
        let input = try await request.decode(as: ProductInput.self, context: context)
        let product = try await catalog.create(try await input.draft(settings))
        context.logger.info("product created", metadata: ["product_id": "\(product.id)"])
        return EditedResponse(
            status: .created, headers: [.location: "/products/\(product.id)", .eTag: product.entityTag], response: product)
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> EditedResponse<Product> {
        _ = try context.requireAdmin()
        let id = try context.pathId()
        let expected = try Self.expectedVersion(request.headers[.ifMatch])
        let input = try await request.decode(as: ProductInput.self, context: context)
        return Self.tagged(try await catalog.update(id: id, draft: try await input.draft(settings), expectedVersion: expected))
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        _ = try context.requireAdmin()
        try await catalog.delete(id: try context.pathId())
        return .noContent
    }

    @Sendable func stock(_ request: Request, context: Context) async throws -> EditedResponse<Product> {
        _ = try context.requireAdmin()
        let id = try context.pathId()
        let input = try await request.decode(as: StockInput.self, context: context)
        return Self.tagged(try await catalog.adjustStock(id: id, variantId: try Self.variantId(context), delta: input.delta))
    }

    /// A product with its `ETag`.
    static func tagged(_ product: Product) -> EditedResponse<Product> {
        EditedResponse(headers: [.eTag: product.entityTag], response: product)
    }

    /// The version an `If-Match` asks for; nil without the header or with `*`.
    /// A value that is not one of our tags can never match: 412.
    static func expectedVersion(_ header: String?) throws(APIError) -> Int? {
        guard let header = header?.trimmingWhitespace() else { return nil }
        if header == "*" { return nil }
        guard let version = Product.version(fromEntityTag: header) else {
            throw APIError(.preconditionFailed, "precondition_failed", "If-Match does not match the product's current ETag.")
        }
        return version
    }
}
