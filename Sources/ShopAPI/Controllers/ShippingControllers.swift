import Hummingbird
import ShopDomain

/// `/settings`: the store settings document. Anyone reads it; an admin replaces it whole, optionally with
/// `If-Match: "s<version>"`. Served by the products area.
struct SettingsController<Context: ShopRequestContext>: Sendable {
    let settings: SettingsService

    /// The editable part of the document; `version` and `updatedAt` are the server's.
    struct Body: Decodable {
        var currency: String
        var pricesIncludeTax: Bool
        var shippingZones: [ShippingZone]
        var taxRates: [TaxRate]
    }

    func addRoutes(to router: Router<Context>) {
        router.get("settings", use: get)
        router.put("settings", use: put)
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> EditedResponse<StoreSettings> {
        let current = try await settings.current()
        return EditedResponse(headers: [.eTag: SettingsService.entityTag(current)], response: current)
    }

    @Sendable func put(_ request: Request, context: Context) async throws -> EditedResponse<StoreSettings> {
        let caller = try context.requireAdmin()
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Limits.requestBodyMax)
        } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "The request body is larger than 1 MiB.")
        }
        guard buffer.readableBytes <= StoreSettings.maxJSONBytes else {
            throw APIError.invalid([
                FieldProblem(field: "settings", problem: "must be at most \(StoreSettings.maxJSONBytes) bytes of JSON (64 KiB)")
            ])
        }
        let body = try ShopRequestDecoder.decode(Body.self, from: Array(buffer.readableBytesView))
        let proposed = StoreSettings(
            currency: body.currency, pricesIncludeTax: body.pricesIncludeTax, shippingZones: body.shippingZones, taxRates: body.taxRates)
        let stored = try await settings.replace(proposed, ifMatch: request.headers[.ifMatch], caller: caller)
        context.logger.info("settings replaced", metadata: ["version": "\(stored.version)"])
        return EditedResponse(headers: [.eTag: SettingsService.entityTag(stored)], response: stored)
    }
}

/// `/account/addresses`: the caller's address book. Served by the orders area.
struct AddressesController<Context: ShopRequestContext>: Sendable {
    let addresses: AddressService

    struct Items: ResponseEncodable, ResponseGenerator {
        var items: [AddressView]
    }

    func addRoutes(to router: Router<Context>) {
        let group = router.group("account/addresses")
        group.get(use: list)
        group.post(use: add)
        group.put("{id}", use: update)
        group.delete("{id}", use: delete)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Items {
        Items(items: try await addresses.list(caller: try context.requireCaller()).map(AddressView.init))
    }

    @Sendable func add(_ request: Request, context: Context) async throws -> EditedResponse<AddressView> {
        let caller = try context.requireCaller()
        let body = try await request.decode(as: Address.self, context: context)
        let saved = try await addresses.add(body, caller: caller)
        return EditedResponse(status: .created, headers: [.location: "/account/addresses/\(saved.id)"], response: AddressView(saved))
    }

    @Sendable func update(_ request: Request, context: Context) async throws -> AddressView {
        let caller = try context.requireCaller()
        let id = try context.pathId()
        let body = try await request.decode(as: Address.self, context: context)
        return AddressView(try await addresses.update(id: id, address: body, caller: caller))
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        try await addresses.delete(id: try context.pathId(), caller: try context.requireCaller())
        return .noContent
    }
}
