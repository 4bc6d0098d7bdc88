import Hummingbird
import Identity
import ShopDomain

/// `/orders`: shoppers see and change their own orders; admins see all.
struct OrdersController<Context: ShopRequestContext>: Sendable {
    let orders: OrderService
    let payments: PaymentService
    let events: EventService
    let identity: any IdentityProvider
    let cursors: CursorCodec

    func addRoutes(to router: Router<Context>) {
        let group = router.group("orders")
        group.post(use: place)
        group.post("quote", use: quote)
        group.get(use: list)
        group.get("{id}", use: get)
        group.post("{id}/cancel", use: cancel)
        group.post("{id}/fulfil", use: fulfil)
        group.get("{id}/events", use: timeline)
    }

    @Sendable func place(_ request: Request, context: Context) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await request.decode(as: OrderRequest.self, context: context)
        let key = request.headers[.idempotencyKey]
        // Where the shop writes about the order: the token's email, else the identity provider's profile (Cognito's
        // access tokens carry none). An order is never refused for want of it.
        var email = caller.email
        if email == nil {
            do { email = try await identity.profile(of: caller).email } catch {
                context.logger.warning("no email for the order's shopper", metadata: ["error": "\(error)"])
            }
        }
        let order = try await orders.place(userId: caller.userId, request: body, idempotencyKey: key, email: email)
        context.logger.info("order placed", metadata: ["order_id": "\(order.id)", "total": "\(order.total)"])
        // Written by hand (JSONBytes): the store's hottest write answers with it.
        return JSONCoding.response(order: order, status: .created, headers: [.location: "/orders/\(order.id)"])
    }

    /// Owner or admin: the order's events, oldest first, with what each sent.
    @Sendable func timeline(_ request: Request, context: Context) async throws -> EventsBody {
        EventsBody(items: try await events.timeline(orderId: try context.pathId(), caller: try context.requireCaller()))
    }

    /// Anyone: what an order would cost, nothing stored, no stock taken.
    @Sendable func quote(_ request: Request, context: Context) async throws -> Quote {
        try await orders.quote(try await request.decode(as: QuoteRequest.self, context: context))
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> PageBody<Order> {
        let caller = try context.requireCaller()
        let limit = try request.queryInt("limit", in: Limits.pageSizeRange, default: Limits.defaultPageSize)
        let everyone: Bool
        switch request.query("all") {
        case nil, "false": everyone = false
        case "true": everyone = true
        default: throw APIError.badRequest("invalid_parameter", "'all' must be true or false.")
        }
        let status = try request.query("status").map { raw throws(APIError) in
            guard let status = OrderStatus(rawValue: raw) else {
                throw APIError.badRequest(
                    "invalid_parameter", "'status' must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return status
        }
        // The cursor is bound to whose orders it pages through, so it cannot open another listing.
        let scope = "orders|\(everyone ? "*" : caller.userId)|\(status?.rawValue ?? "")"
        let after = try request.query("cursor").map { cursor throws(APIError) in try cursors.decode(cursor, scope: scope) }
        let page = try await orders.list(caller: caller, everyone: everyone, status: status, limit: limit, after: after)
        return PageBody(items: page.items, nextCursor: page.nextKey.map { cursors.encode($0, scope: scope) })
    }

    @Sendable func get(_ request: Request, context: Context) async throws -> OrderView {
        try await payments.view(try await orders.get(id: try context.pathId(), caller: try context.requireCaller()))
    }

    @Sendable func cancel(_ request: Request, context: Context) async throws -> OrderView {
        let caller = try context.requireCaller()
        let order = try await orders.cancel(id: try context.pathId(), caller: caller)
        context.logger.info("order cancelled", metadata: ["order_id": "\(order.id)"])
        return try await payments.view(order)
    }

    /// The body is optional: `{carrier, trackingNumber, trackingUrl}`, each optional too.
    @Sendable func fulfil(_ request: Request, context: Context) async throws -> OrderView {
        let caller = try context.requireCaller()
        let id = try context.pathId()
        guard caller.isAdmin else { throw APIError.forbidden }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Limits.requestBodyMax)
        } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "The request body is larger than 1 MiB.")
        }
        let input =
            buffer.readableBytes == 0
            ? ShipmentInput() : try ShopRequestDecoder.decode(ShipmentInput.self, from: Array(buffer.readableBytesView))
        let order = try await orders.fulfil(id: id, shipment: input, caller: caller)
        context.logger.info("order fulfilled", metadata: ["order_id": "\(order.id)"])
        return try await payments.view(order)
    }
}

/// `{"items": [...]}` of `GET /orders/{id}/events`.
struct EventsBody: Encodable, ResponseEncodable, ResponseGenerator {
    var items: [EventView]
}
