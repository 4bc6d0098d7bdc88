import Crypto
import Identity
import Logging
import ShopDomain
import ShopStorage
import ShopSupport
import ShopTelemetry

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Order rules: pricing from the catalog, ownership, idempotency, the state machine.
public struct OrderService: Sendable {
    let orders: any OrderStore
    let catalog: any CatalogStore
    let clock: WallClock
    let ttl: Duration
    let idempotencyLifetime: Duration
    /// Sends what a cancelled order owes (a refund) or closes its open payment.
    let settlement: (any OrderSettlement)?
    /// The store settings (shipping and tax) and address books; nil only in tests that never price an order.
    public var settingsService: SettingsService?
    public var addressBook: AddressService?
    /// Anti-hoarding: orders a shopper may have waiting for payment at once (nil: no limit), and units of
    /// one product per order (within the contract's 1,000).
    public var maxOpenOrders: Int?
    public var maxUnitsPerLine: Int = Limits.lineQuantityRange.upperBound

    public init(
        orders: any OrderStore, catalog: any CatalogStore, clock: WallClock = .system, ttl: Duration = .seconds(900),
        idempotencyLifetime: Duration = .seconds(24 * 3600), settlement: (any OrderSettlement)? = nil
    ) {
        self.orders = orders
        self.catalog = catalog
        self.clock = clock
        self.ttl = ttl
        self.idempotencyLifetime = idempotencyLifetime
        self.settlement = settlement
    }

    /// Places an order for `userId`. With an idempotency key, a replay of the same
    /// request returns the first order; the same key with another request is a 422.
    /// Checked in this order, the first that applies answering: the body, the address, `product_not_found`,
    /// `unsupported_currency`, `shipping_unavailable`, the method, `total_too_large`, then stock.
    public func place(userId: String, request: OrderRequest, idempotencyKey: String?, email: String? = nil) async throws(APIError) -> Order
    {
        try checkLines(request, also: request.shippingProblems())
        let now = clock.now()
        var claim: IdempotencyClaim?
        if let idempotencyKey {
            guard (1...Limits.idempotencyKeyMax).contains(idempotencyKey.utf8.count),
                idempotencyKey.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e })
            else {
                throw .badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters.")
            }
            let fresh = IdempotencyClaim(
                userId: userId, key: idempotencyKey, requestHash: Self.fingerprint(request),
                expiresAt: now.addingTimeInterval(idempotencyLifetime.seconds))
            // The key first: a replay answers the original order whatever the catalog or the settings have become
            // since (a product deleted, a price or currency changed, a rate changed), before anything is priced.
            if let record = try await mapped(
                try await orders.idempotencyRecord(userId: userId, key: idempotencyKey, at: now))
            {
                return try await resolve(record, claim: fresh)
            }
            claim = fresh
        }
        // A saved address is copied into the order: later edits of the address book change no placed order.
        let address: Address
        if let addressId = request.addressId {
            guard let addressBook,
                let saved = try await mapped(
                    try await addressBook.store.address(userId: userId, id: addressId))
            else {
                throw .invalid([FieldProblem(field: "addressId", problem: "is not one of your saved addresses")])
            }
            address = saved.address
        } else {
            address = try Self.validAddress(request.shippingAddress, field: "shippingAddress")
        }
        let priced = try await price(lines: request.lines, address: address, methodId: request.shippingMethodId)
        let order = Order(
            id: Identifier.make(at: now), userId: userId,
            lines: priced.quote.lines,
            total: priced.quote.total, currency: priced.quote.currency, status: .pendingPayment, createdAt: now, updatedAt: now,
            expiresAt: now.addingTimeInterval(ttl.seconds), shippingAddress: address, shippingMethod: priced.method,
            subtotal: priced.quote.subtotal, shippingTotal: priced.quote.shippingTotal, shippingTax: priced.quote.shippingTax,
            taxTotal: priced.quote.taxTotal, email: email)
        let outcome: PlaceOrderOutcome
        do {
            outcome = try await orders.placeOrder(order, claim: claim, maxOpenOrders: maxOpenOrders, at: now)
        } catch .outOfStock(let shortages) {
            ShopMetrics.stockOut()
            let names = shortages.map { shortage in
                order.lines.first { $0.productId == shortage.productId && $0.variantId == shortage.variantId }?.name ?? shortage.productId
            }
            throw APIError(
                .conflict, "out_of_stock", "Not enough stock for: \(names.joined(separator: ", ")).",
                details: .array(
                    shortages.map {
                        .object([
                            "productId": .string($0.productId), "variantId": .string($0.variantId), "requested": .int($0.requested),
                            "available": .int($0.available),
                        ])
                    }))
        } catch .productNotFound(let id) {
            throw Self.unknownProduct(id)
        } catch .variantNotFound(let productId, let variantId) {
            throw CatalogService.variantNotFound(productId: productId, variantId: variantId)
        } catch .tooManyOpenOrders(let limit) {
            throw APIError(
                .conflict, "too_many_open_orders",
                "You have \(limit) orders waiting for payment; pay or cancel one before placing another.",
                details: .object(["limit": .int(limit)]))
        } catch {
            throw APIError(unexpected: error)
        }
        switch outcome {
        case .created(let created):
            ShopMetrics.orderPlaced()
            return created
        case .replayed(let record):
            return try await resolve(record, claim: claim!)
        }
    }

    /// What an order would cost, by the money rules (docs/API.md): nothing is stored and no stock is taken. The same
    /// checks as placing, in the same order, up to `total_too_large`.
    public func quote(_ request: QuoteRequest) async throws(APIError) -> Quote {
        try checkLines(
            OrderRequest(lines: request.lines),
            also: request.shippingAddress == nil
                ? [FieldProblem(field: "shippingAddress", problem: "is required")] : [])
        if let id = request.shippingMethodId, id.isEmpty || id.utf8.count > Limits.idMaxBytes {
            throw .invalid([FieldProblem(field: "shippingMethodId", problem: "must be a shipping method id")])
        }
        let address = try Self.validAddress(request.shippingAddress, field: "shippingAddress")
        return try await price(lines: request.lines, address: address, methodId: request.shippingMethodId).quote
    }

    /// The lines' rules and this host's units-per-line cap, with `also` (the shipping fields' problems), in one 400.
    func checkLines(_ request: OrderRequest, also extra: [FieldProblem]) throws(APIError) {
        var problems: [FieldProblem] = []
        do { try request.validate() } catch .invalid(let found) { problems = found } catch { throw APIError(error) }
        problems += request.lines.enumerated().filter {
            $0.element.quantity > maxUnitsPerLine && $0.element.quantity <= Limits.lineQuantityRange.upperBound
        }.map {
            FieldProblem(field: "lines[\($0.offset)].quantity", problem: "must be at most \(maxUnitsPerLine) per order line")
        }
        problems += extra
        guard problems.isEmpty else { throw .invalid(problems) }
    }

    static func validAddress(_ address: Address?, field: String) throws(APIError) -> Address {
        guard let address else { throw .invalid([FieldProblem(field: field, problem: "is required")]) }
        do { return try address.validated(path: field) } catch { throw APIError(error) }
    }

    /// Prices `lines` from the catalog for `address` by the settings' rules.
    func price(lines: [OrderRequest.Line], address: Address, methodId: String?) async throws(APIError) -> (
        quote: Quote, method: OrderShippingMethod
    ) {
        let ids = lines.map(\.productId)
        let products = try await mapped(try await catalog.products(ids: ids))
        let byId = Dictionary(products.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let settings = try await settingsService?.current() ?? .builtInDefault
        var priced: [OrderLine] = []
        var seen: Set<String> = []
        for (index, line) in lines.enumerated() {
            guard let product = byId[line.productId] else { throw Self.unknownProduct(line.productId) }
            let variant: ProductVariant
            if let variantId = line.variantId {
                guard let named = product.variant(id: variantId) else {
                    throw CatalogService.variantNotFound(productId: product.id, variantId: variantId)
                }
                variant = named
            } else {
                guard product.hasOneVariant else {
                    throw .invalid([
                        FieldProblem(
                            field: "lines[\(index)].variantId",
                            problem: "is required: product \(product.id) comes in \(product.variants.count) variants")
                    ])
                }
                variant = product.variants[0]
            }
            guard product.currency == settings.currency else {
                throw APIError(
                    .badRequest, "unsupported_currency",
                    "Product \(product.id) is priced in \(product.currency); this store sells in \(settings.currency).",
                    details: .object(["productId": .string(product.id), "currency": .string(product.currency)]))
            }
            // A line without a variant resolves to the product's one variant: it may repeat a line that named it.
            guard seen.insert(product.id + "\u{1f}" + variant.id).inserted else {
                throw .invalid([
                    FieldProblem(
                        field: "lines[\(index)].variantId", problem: "names a variant another line has; use one line per product variant")
                ])
            }
            priced.append(
                OrderLine(
                    productId: product.id, variantId: variant.id, sku: variant.sku, options: variant.options,
                    name: variant.lineName(productName: product.name, options: product.options), unitPrice: variant.price,
                    quantity: line.quantity))
        }
        let quote: Quote
        do {
            quote = try Quote.make(lines: priced, address: address, methodId: methodId, settings: settings)
        } catch {
            switch error {
            case .shippingUnavailable(let country):
                throw APIError(
                    .badRequest, "shipping_unavailable", "This store does not ship to \(country).",
                    details: .object(["country": .string(country)]))
            case .unknownMethod:
                throw .invalid([
                    FieldProblem(field: "shippingMethodId", problem: "is not a shipping method for this address; see POST /orders/quote")
                ])
            }
        }
        guard quote.total <= Limits.orderTotalMax else {
            throw APIError(
                .badRequest, "total_too_large",
                "This order's total (\(quote.total)) is more than one payment can take (\(Limits.orderTotalMax) minor units); split it.",
                details: .object(["total": .int(quote.total), "max": .int(Limits.orderTotalMax)]))
        }
        guard let chosen = quote.shippingMethods.first(where: { $0.id == quote.shippingMethodId }) else { throw .internalError }
        return (quote, chosen)
    }

    private func resolve(_ record: IdempotencyRecord, claim: IdempotencyClaim) async throws(APIError) -> Order {
        guard record.claim.requestHash == claim.requestHash else {
            throw APIError(
                .unprocessableContent, "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request; use a new key for a new order.")
        }
        guard let order = try await mapped(try await orders.order(id: record.orderId)) else {
            throw .internalError
        }
        return order
    }

    static func unknownProduct(_ id: String) -> APIError {
        APIError(.notFound, "product_not_found", "Product \(id) does not exist.", details: .object(["productId": .string(id)]))
    }

    /// A digest of the request's meaning (its lines, its address or saved address, its method), so that key order
    /// or spacing do not count as a different body.
    static func fingerprint(_ request: OrderRequest) -> String {
        // A line without a variant reads as before variants existed, so that keys used across the upgrade still replay.
        var canonical = request.lines.map { "\($0.productId)\u{1f}\($0.quantity)" + ($0.variantId.map { "\u{1f}v" + $0 } ?? "") }
            .joined(separator: "\u{1e}")
        canonical += "\u{1d}" + (request.addressId.map { "id:" + $0 } ?? "")
        if let a = request.shippingAddress {
            canonical += [a.name, a.line1, a.line2 ?? "", a.city, a.region ?? "", a.postalCode, a.country, a.phone ?? ""].joined(
                separator: "\u{1f}")
        }
        canonical += "\u{1d}" + (request.shippingMethodId ?? "")
        return SHA256.hash(data: Data(canonical.utf8)).hexEncoded
    }

    /// The order if `caller` may see it; someone else's order is a 404, as if it did not exist.
    public func get(id: String, caller: VerifiedCaller) async throws(APIError) -> Order {
        guard let order = try await mapped(try await orders.order(id: id)),
            order.userId == caller.userId || caller.isAdmin
        else { throw .notFound("Order \(id)") }
        return order
    }

    public func list(caller: VerifiedCaller, everyone: Bool, status: OrderStatus?, limit: Int, after: String?) async throws(APIError)
        -> Page<Order>
    {
        if everyone && !caller.isAdmin { throw .forbidden }
        let userId = everyone ? nil : caller.userId
        return try await mapped(try await orders.listOrders(userId: userId, status: status, limit: limit, after: after))
    }

    /// Cancels an order of the caller's (or any, for an admin); the store returns the stock.
    public func cancel(id: String, caller: VerifiedCaller) async throws(APIError) -> Order {
        let order = try await get(id: id, caller: caller)
        let actor: CancelledBy = order.userId == caller.userId ? .shopper : .admin
        let cancelled = try await move(id: id, to: .cancelled, by: actor)
        ShopMetrics.orderCancelled(reason: actor.rawValue)
        // The store marked a paid order's refund as due in the same step; send it (or close an open payment).
        await settlement?.settle(orderId: id)
        return cancelled
    }

    /// Marks a paid order fulfilled (admins only), with where and how it was sent.
    public func fulfil(id: String, shipment input: ShipmentInput = .init(), caller: VerifiedCaller) async throws(APIError) -> Order {
        guard caller.isAdmin else { throw .forbidden }
        let shipment: Shipment
        do { shipment = try input.validated(shippedAt: clock.now()) } catch { throw APIError(error) }
        _ = try await get(id: id, caller: caller)
        do {
            let fulfilled = try await orders.fulfilOrder(id: id, shipment: shipment, at: clock.now())
            ShopMetrics.orderFulfilled()
            return fulfilled
        } catch .notFound {
            throw .notFound("Order \(id)")
        } catch .invalidTransition(let current) {
            throw APIError(DomainError.invalidTransition(from: current, to: .fulfilled))
        } catch {
            throw APIError(unexpected: error)
        }
    }

    private func move(id: String, to target: OrderStatus, by actor: CancelledBy?) async throws(APIError) -> Order {
        do {
            return try await orders.transitionOrder(
                id: id, from: OrderStatus.sources(of: target), to: target, expiredBy: nil, cancelledBy: actor, at: clock.now())
        } catch .notFound {
            throw .notFound("Order \(id)")
        } catch .invalidTransition(let current) {
            throw APIError(DomainError.invalidTransition(from: current, to: target))
        } catch {
            throw APIError(unexpected: error)
        }
    }

    /// Cancels every pending order past its `expiresAt`, returning its stock, and
    /// drops expired idempotency keys. Safe to run from several places at once.
    /// With `purgeIdempotencyKeys`, also drops expired idempotency keys: a whole-table scan on DynamoDB,
    /// so hosts ask for it rarely (DynamoDB's TTL does this job in production).
    public func expireDue(logger: Logger? = nil, purgeIdempotencyKeys: Bool = true) async throws(APIError) -> Int {
        let now = clock.now()
        var expired = 0
        var seen: Set<String> = []
        // Bounded: an index that lags (DynamoDB's Due index) keeps listing orders already moved; those
        // are skipped, and a pass that moves nothing new ends the sweep instead of spinning on them.
        for _ in 0..<100 {
            let due = try await mapped(try await orders.dueOrders(now: now, limit: 100))
            var movedAny = false
            for order in due where seen.insert(order.id).inserted {
                do {
                    _ = try await orders.transitionOrder(
                        id: order.id, from: [.pendingPayment], to: .cancelled, expiredBy: now, cancelledBy: .expiry, at: now)
                    expired += 1
                    movedAny = true
                    ShopMetrics.orderCancelled(reason: CancelledBy.expiry.rawValue)
                    logger?.info("order expired", metadata: ["order_id": "\(order.id)"])
                    await settlement?.settle(orderId: order.id)
                } catch .invalidTransition {
                    // Paid or cancelled meanwhile: nothing to do.
                } catch {
                    // One order that fails (contention, an outage) must not stop the sweep for the others.
                    logger?.error("could not expire an order", metadata: ["order_id": "\(order.id)", "error": "\(error)"])
                }
            }
            if due.count < 100 || !movedAny { break }
        }
        if purgeIdempotencyKeys {
            _ = try await mapped(try await orders.purgeIdempotencyRecords(before: now))
        }
        return expired
    }
}
