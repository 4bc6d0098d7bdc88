import ShopDomain

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One page of a key-ordered listing. `nextKey` is the store's own position marker;
/// the API wraps it in an authenticated opaque cursor before a client sees it.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextKey: String?
    public init(items: [Item], nextKey: String?) {
        self.items = items
        self.nextKey = nextKey
    }
}

/// The catalog. Every method is one atomic operation in the backend.
public protocol CatalogStore: Sendable {
    /// Inserts a new product with its variants; `StorageError.alreadyExists` if the id is taken, `.skuTaken` if a
    /// variant's SKU is another's (compared without case).
    func createProduct(_ product: Product) async throws(StorageError)
    /// The product, or nil.
    func product(id: String) async throws(StorageError) -> Product?
    /// The products among `ids` that exist (any order).
    func products(ids: [String]) async throws(StorageError) -> [Product]
    /// Replaces the editable fields, options and variants, and bumps `version`, if the stored version is
    /// `edit.expectedVersion` (`.versionMismatch` otherwise). A variant kept (same id) keeps its stock and image; a new
    /// one starts with its `quantity`; one left out is deleted, unless an unpaid order holds units of it
    /// (`.variantInUse`). `.skuTaken` if a SKU is another product's.
    func replaceProduct(_ edit: ProductEdit, at: Date) async throws(StorageError) -> Product
    /// Points the product (or, with `variantId`, one of its variants) at an uploaded image and bumps `version`;
    /// `.notFound` if there is no such product, `.variantNotFound` if it has no such variant.
    func setProductImage(id: String, variantId: String?, imageUrl: String, at: Date) async throws(StorageError) -> Product
    /// Deletes a product; `.notFound` if there is none.
    func deleteProduct(id: String) async throws(StorageError)
    /// Adds `delta` (which may be negative) to the stock of one variant (nil: the product's only one, else
    /// `.variantRequired`). Throws `.insufficientStock` rather than go below zero, and `.stockLimitExceeded` above the maximum.
    func adjustStock(id: String, variantId: String?, delta: Int, at: Date) async throws(StorageError) -> Product
    /// Products ordered by id, after `after` (a key from a previous page), optionally in one category.
    func listProducts(category: String?, limit: Int, after: String?) async throws(StorageError) -> Page<Product>
    /// Number of products in the catalog (used to decide whether to seed a demo catalog).
    func productCount() async throws(StorageError) -> Int
}

/// An edit of a product (`PUT /products/{id}`): everything but stock and images.
public struct ProductEdit: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    public var currency: String
    public var category: String
    public var options: [ProductOption]
    /// In order. A kept variant's `quantity` and `imageUrl` are ignored (the store keeps its own).
    public var variants: [ProductVariant]
    public var expectedVersion: Int

    public init(
        id: String, name: String, description: String, currency: String, category: String, options: [ProductOption],
        variants: [ProductVariant], expectedVersion: Int
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.currency = currency
        self.category = category
        self.options = options
        self.variants = variants
        self.expectedVersion = expectedVersion
    }

    /// The product as it would be written over `current` (kept variants with their stock and images).
    public func applied(to current: Product, at now: Date) -> Product {
        let kept = Dictionary(current.variants.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return Product(
            id: id, name: name, description: description, currency: currency, category: category, imageUrl: current.imageUrl,
            version: current.version + 1, createdAt: current.createdAt, updatedAt: now, options: options,
            variants: variants.map { variant in
                guard let old = kept[variant.id] else { return variant }
                var merged = variant
                merged.quantity = old.quantity
                merged.imageUrl = old.imageUrl
                return merged
            })
    }
}

extension CatalogStore {
    /// Replaces the name, description, currency, category and (for a product with one variant) price, as `PUT`
    /// without `variants` does; `.variantRequired` for a product with several.
    public func updateProduct(id: String, fields: ProductFields, expectedVersion: Int?, at now: Date) async throws(StorageError) -> Product
    {
        guard let current = try await product(id: id) else { throw .notFound }
        if let expectedVersion, expectedVersion != current.version { throw .versionMismatch(current: current.version) }
        guard current.hasOneVariant else { throw .variantRequired }
        var variants = current.variants
        variants[0].price = fields.price
        return try await replaceProduct(
            ProductEdit(
                id: id, name: fields.name, description: fields.description, currency: fields.currency, category: fields.category,
                options: current.options, variants: variants, expectedVersion: current.version),
            at: now)
    }

    public func setProductImage(id: String, imageUrl: String, at now: Date) async throws(StorageError) -> Product {
        try await setProductImage(id: id, variantId: nil, imageUrl: imageUrl, at: now)
    }

    public func adjustStock(id: String, delta: Int, at now: Date) async throws(StorageError) -> Product {
        try await adjustStock(id: id, variantId: nil, delta: delta, at: now)
    }
}

/// The stores the services run on (also what each conformance case is handed). Orders and payments are
/// one store: paying, cancelling and refunding change both in one atomic step.
public struct ShopStores: Sendable {
    public var catalog: any CatalogStore
    public var orders: any OrderStore & PaymentStore
    public var users: any UserStore
    public var settings: any SettingsStore
    public var addresses: any AddressStore
    public var outbox: any OutboxStore
    public var stats: any StatsStore

    public init(
        catalog: any CatalogStore, orders: any OrderStore & PaymentStore, users: any UserStore, settings: any SettingsStore,
        addresses: any AddressStore, outbox: any OutboxStore, stats: any StatsStore
    ) {
        self.catalog = catalog
        self.orders = orders
        self.users = users
        self.settings = settings
        self.addresses = addresses
        self.outbox = outbox
        self.stats = stats
    }

    /// One backend that is all of them.
    public init(
        _ store: some CatalogStore & OrderStore & PaymentStore & UserStore & SettingsStore & AddressStore & OutboxStore & StatsStore
    ) {
        self.init(catalog: store, orders: store, users: store, settings: store, addresses: store, outbox: store, stats: store)
    }
}

/// The store settings document (shipping zones, methods, tax rates): one per store.
public protocol SettingsStore: Sendable {
    /// The stored document, or nil before the first `putSettings` (the services then use the built-in default, version 0).
    func storedSettings() async throws(StorageError) -> StoreSettings?
    /// Replaces the document, as version (stored version + 1) with `updatedAt` = `at`, and returns what was stored. With
    /// `expectedVersion` the replacement happens only if the stored version is that one (0: nothing stored yet), else
    /// `.versionMismatch(current:)`.
    func putSettings(_ settings: StoreSettings, expectedVersion: Int?, at: Date) async throws(StorageError) -> StoreSettings
}

/// An address in a shopper's address book.
public struct SavedAddress: Sendable, Equatable {
    public var id: String
    public var userId: String
    public var address: Address
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, userId: String, address: Address, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.userId = userId
        self.address = address
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Shoppers' address books. Each shopper's count is kept in the same atomic step as the address itself.
public protocol AddressStore: Sendable {
    /// The shopper's addresses, oldest first.
    func addresses(userId: String) async throws(StorageError) -> [SavedAddress]
    /// One of the shopper's addresses, or nil (someone else's is nil too).
    func address(userId: String, id: String) async throws(StorageError) -> SavedAddress?
    /// Adds an address; `.tooManyAddresses(limit:)` when the shopper has `limit` already, `.alreadyExists` if the id is taken.
    func addAddress(_ address: SavedAddress, limit: Int) async throws(StorageError)
    /// Replaces one of the shopper's addresses; `.notFound` if they have none with this id.
    func updateAddress(userId: String, id: String, address: Address, at: Date) async throws(StorageError) -> SavedAddress
    /// Deletes one of the shopper's addresses; `.notFound` if they have none with this id.
    func deleteAddress(userId: String, id: String) async throws(StorageError)
}

/// A claim on an idempotency key, written in the same atomic step as the order.
public struct IdempotencyClaim: Sendable, Equatable {
    public var userId: String
    public var key: String
    /// A digest of the request body; a replay with another body is refused.
    public var requestHash: String
    public var expiresAt: Date
    public init(userId: String, key: String, requestHash: String, expiresAt: Date) {
        self.userId = userId
        self.key = key
        self.requestHash = requestHash
        self.expiresAt = expiresAt
    }
}

/// A stored idempotency record: the claim and the order it produced.
public struct IdempotencyRecord: Sendable, Equatable {
    public var claim: IdempotencyClaim
    public var orderId: String
    public init(claim: IdempotencyClaim, orderId: String) {
        self.claim = claim
        self.orderId = orderId
    }
}

/// What placing an order did.
public enum PlaceOrderOutcome: Sendable, Equatable {
    /// The order was stored and its stock taken.
    case created(Order)
    /// The idempotency key was already used (and is still live); nothing was written.
    case replayed(IdempotencyRecord)
}

/// Orders. Placing one and moving one between states are each a single atomic operation.
public protocol OrderStore: Sendable {
    /// Takes the stock of every line and stores the order (and the idempotency claim)
    /// all at once, or does nothing. Throws `.outOfStock` naming every short line,
    /// `.productNotFound` for a product that no longer exists. A live claim on the same
    /// key wins over every other outcome: it is answered `.replayed` before stock is looked at.
    /// With `maxOpenOrders`, the order is refused (`.tooManyOpenOrders`) when its user already has that
    /// many PENDING_PAYMENT orders, counted in the same atomic step.
    func placeOrder(_ order: Order, claim: IdempotencyClaim?, maxOpenOrders: Int?, at now: Date) async throws(StorageError)
        -> PlaceOrderOutcome
    /// The live record of `userId`'s idempotency key (nil if there is none, or it expired at or before `now`).
    func idempotencyRecord(userId: String, key: String, at now: Date) async throws(StorageError) -> IdempotencyRecord?
    /// The order, or nil.
    func order(id: String) async throws(StorageError) -> Order?
    /// Orders newest first, for one user or (nil) everyone, optionally in one status.
    func listOrders(userId: String?, status: OrderStatus?, limit: Int, after: String?) async throws(StorageError) -> Page<Order>
    /// Moves the order to `to` if its current status is one of `from` (and, if given,
    /// it expired at or before `expiredBy`); entering a stock-returning state returns
    /// the stock in the same step (never above `Limits.stockRange`'s maximum: units beyond it are dropped and logged), and cancelling a PAID order marks its paying payment's
    /// refund as due in that step too. Throws `.invalidTransition(current:)` otherwise.
    /// The order's event (`order.cancelled` with `cancelledBy`, `order.fulfilled`, ...) is written in the same step.
    func transitionOrder(
        id: String, from: Set<OrderStatus>, to: OrderStatus, expiredBy: Date?, cancelledBy: CancelledBy?, at now: Date
    ) async throws(StorageError) -> Order
    /// PAID → FULFILLED with its shipment, in one step; `.invalidTransition(current:)` if the order is not PAID,
    /// `.notFound` if there is none.
    func fulfilOrder(id: String, shipment: Shipment, at now: Date) async throws(StorageError) -> Order
    /// Pending orders whose `expiresAt` is at or before `now`, oldest first.
    func dueOrders(now: Date, limit: Int) async throws(StorageError) -> [Order]
    /// Deletes idempotency records that expired before `now`; returns how many.
    func purgeIdempotencyRecords(before now: Date) async throws(StorageError) -> Int
}

/// An event in the outbox, with its deliveries once they are planned.
public struct StoredEvent: Sendable, Equatable {
    public var record: OrderEventRecord
    /// Whether its deliveries were planned (and, on AWS, it went to EventBridge).
    public var dispatched: Bool
    public var deliveries: [EventDelivery]

    public init(record: OrderEventRecord, dispatched: Bool, deliveries: [EventDelivery]) {
        self.record = record
        self.dispatched = dispatched
        self.deliveries = deliveries
    }
}

/// A delivery that is due, with its event.
public struct DueDelivery: Sendable, Equatable {
    public var event: OrderEventRecord
    public var delivery: EventDelivery

    public init(event: OrderEventRecord, delivery: EventDelivery) {
        self.event = event
        self.delivery = delivery
    }
}

/// The outbox: the order events the other stores write with each change of an order (`placeOrder`, `payOrder`,
/// `transitionOrder`, `fulfilOrder`, `recordRefund`), and what is sent for them. Every change here is conditional, so
/// several workers (two sweeps, a stream batch delivered twice) never send one delivery at the same time.
public protocol OutboxStore: Sendable {
    /// The order's events, in the order they happened (by key), with their deliveries.
    func orderEvents(orderId: String) async throws(StorageError) -> [StoredEvent]
    /// Events whose deliveries are not planned yet, oldest first.
    func undispatchedEvents(limit: Int) async throws(StorageError) -> [StoredEvent]
    /// Plans the event's deliveries and marks it dispatched, in one step; false (and nothing written) if it was
    /// dispatched already.
    func dispatchEvent(orderId: String, key: String, deliveries: [EventDelivery], at now: Date) async throws(StorageError) -> Bool
    /// Pending deliveries whose `nextAttemptAt` is at or before `now`, earliest first.
    func dueDeliveries(now: Date, limit: Int) async throws(StorageError) -> [DueDelivery]
    /// Replaces a delivery if it is still as `expected` (status and attempts); false otherwise (another worker moved
    /// it). `.notFound` if the event has no such delivery.
    func updateDelivery(orderId: String, key: String, expected: EventDelivery, to new: EventDelivery) async throws(StorageError) -> Bool
}

/// The merchant's figures (`GET /admin/stats`). SQLite answers them with a query over the orders and their events;
/// DynamoDB keeps them in items that each order event updates, once, after the change (`applyToStats`, from the outbox).
public protocol StatsStore: Sendable {
    /// Whether the figures are kept up to date from the outbox (each event is applied with `applyToStats`) rather than
    /// read from the orders.
    var statsFromOutbox: Bool { get }
    /// The figures of the days `from` through `to` (UTC, inclusive).
    func stats(from: UTCDay, to: UTCDay) async throws(StorageError) -> StatsFigures
    /// Products with fewer than `below` units, fewest first.
    func lowStock(below: Int, limit: Int) async throws(StorageError) -> [Product]
    /// Adds one event to the figures, once however often it is called for it (`order` is the order as it stands).
    func applyToStats(_ event: OrderEventRecord, order: Order) async throws(StorageError)
}

/// A user of the local identity provider.
public struct UserRecord: Sendable, Equatable {
    public var id: String
    /// Lower-cased; unique.
    public var email: String
    public var name: String
    public var passwordHash: String
    public var groups: [String]
    public var createdAt: Date
    public init(id: String, email: String, name: String, passwordHash: String, groups: [String], createdAt: Date) {
        self.id = id
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.groups = groups
        self.createdAt = createdAt
    }
}

/// Users and refresh tokens of the local identity provider.
public protocol UserStore: Sendable {
    /// Inserts a user; `.emailTaken` if the email is already registered.
    func createUser(_ user: UserRecord) async throws(StorageError)
    func user(email: String) async throws(StorageError) -> UserRecord?
    func user(id: String) async throws(StorageError) -> UserRecord?
    /// Stores the digest of a refresh token; a backend may drop tokens that expired before `now` meanwhile.
    func saveRefreshToken(digest: String, userId: String, expiresAt: Date, now: Date) async throws(StorageError)
    /// Deletes a refresh token if it is `userId`'s; false if there was none of theirs.
    func deleteRefreshToken(digest: String, userId: String) async throws(StorageError) -> Bool
    /// The user a live refresh token belongs to, or nil if unknown or expired.
    func refreshTokenOwner(digest: String, now: Date) async throws(StorageError) -> String?
}

/// A product variant that an order could not get enough of.
public struct StockShortage: Sendable, Codable, Equatable, Hashable {
    public var productId: String
    public var variantId: String
    public var requested: Int
    public var available: Int
    /// Without `variantId`, the product's default variant (whose id is the product's).
    public init(productId: String, variantId: String? = nil, requested: Int, available: Int) {
        self.productId = productId
        self.variantId = variantId ?? productId
        self.requested = requested
        self.available = available
    }
}

/// Errors every backend translates its own failures into.
public enum StorageError: Error, Sendable, Equatable {
    case notFound
    case alreadyExists
    case versionMismatch(current: Int)
    case insufficientStock(available: Int)
    case stockLimitExceeded(current: Int)
    case outOfStock([StockShortage])
    /// The user has `limit` orders waiting for payment already.
    case tooManyOpenOrders(limit: Int)
    /// The shopper's address book is full.
    case tooManyAddresses(limit: Int)
    /// A product named by an order no longer exists.
    case productNotFound(String)
    /// The product has no variant with this id.
    case variantNotFound(productId: String, variantId: String)
    /// The product has several variants and the call named none.
    case variantRequired
    /// A variant's SKU is another's (compared without case).
    case skuTaken(String)
    /// An edit would delete a variant that an unpaid order holds units of.
    case variantInUse(String)
    case invalidTransition(current: OrderStatus)
    case emailTaken
    /// A page key the store did not make.
    case badPageKey
    /// Too many writers raced for the same item (DynamoDB's `TransactionConflict`, retried with backoff
    /// first); nothing was written. The client may try again shortly.
    case busy
    /// The backend failed; the message is for logs, never for clients.
    case backend(String)
}

/// The position after an order in a newest-first listing: its creation time and id, as
/// `"<createdAt ms>:<id>"`. Every backend pages orders with it.
public struct OrderPageKey: Sendable, Equatable {
    public var createdAtMillis: Int64
    public var id: String

    public init(createdAtMillis: Int64, id: String) {
        self.createdAtMillis = createdAtMillis
        self.id = id
    }

    public init(after order: Order) {
        self.init(createdAtMillis: order.createdAt.unixMillis, id: order.id)
    }

    /// Reads a key this type wrote; `.badPageKey` for anything else.
    public init(_ text: String) throws(StorageError) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let millis = Int64(parts[0]), !parts[1].isEmpty else { throw .badPageKey }
        self.init(createdAtMillis: millis, id: String(parts[1]))
    }

    public var text: String { "\(createdAtMillis):\(id)" }
}

/// Payments and processed webhook events. The order-changing steps are single atomic operations with
/// the order, conditioned on its status, so a webhook racing a cancel, an expiry or another webhook
/// changes the order at most once.
public protocol PaymentStore: Sendable {
    /// Stores a new payment; `.alreadyExists` if its id is taken.
    func createPayment(_ payment: PaymentRecord) async throws(StorageError)
    func payment(id: String) async throws(StorageError) -> PaymentRecord?
    /// The order's payments, newest first.
    func payments(orderId: String) async throws(StorageError) -> [PaymentRecord]
    /// Records what the gateway says of a payment. A `succeeded` or `canceled` payment never moves to
    /// another status; the record is returned as it stands.
    func updatePayment(id: String, status: PaymentStatus, failureCode: String?, failureMessage: String?, at: Date)
        async throws(StorageError) -> PaymentRecord
    /// PENDING_PAYMENT → PAID by `paymentId`, and the payment `succeeded`, in one step.
    /// `.invalidTransition(current:)` if the order is no longer PENDING_PAYMENT.
    func payOrder(orderId: String, paymentId: String, at: Date) async throws(StorageError) -> Order
    /// The payment that moved the order to PAID, if any.
    func payingPaymentId(orderId: String) async throws(StorageError) -> String?
    /// Marks the whole unrefunded amount of a payment as owed back; false if a refund was already due or made.
    func markRefundDue(paymentId: String, at: Date) async throws(StorageError) -> Bool
    /// A refund reached the gateway: nothing is due any more and `refundedAmount` is at least `refundedAmount`. When
    /// the refunded total grows, its `order.refunded` event is written in the same step.
    func recordRefund(paymentId: String, refundedAmount: Int, at: Date) async throws(StorageError) -> PaymentRecord
    /// A refund the gateway had accepted failed (or one failed at once, `reversedAmount` 0): `reversedAmount` is
    /// no longer refunded, `refundFailures` grows by one and, when the money is `owed` back (a cancelled order, a
    /// payment its order could not take), everything not refunded becomes due again for the sweep to send.
    func refundFailed(paymentId: String, reversedAmount: Int, owed: Bool, at: Date) async throws(StorageError) -> PaymentRecord
    /// A refund attempt failed: moves the payment to the back of the refunds-due queue, so failing refunds
    /// cannot starve the others.
    func deferRefund(paymentId: String, at: Date) async throws(StorageError)
    /// Payments with money still owed back, oldest first.
    func paymentsWithRefundDue(limit: Int) async throws(StorageError) -> [PaymentRecord]
    /// Whether a webhook event id was recorded as processed.
    func eventProcessed(id: String) async throws(StorageError) -> Bool
    /// Records a webhook event id; false if it was recorded before (the event was processed already).
    func markEventProcessed(id: String, at: Date, keepUntil: Date) async throws(StorageError) -> Bool
}

extension OrderStore {
    /// A move whose cancel (if it is one) is by the sweep when `expiredBy` is given, else by an admin.
    public func transitionOrder(id: String, from: Set<OrderStatus>, to: OrderStatus, expiredBy: Date?, at now: Date)
        async throws(StorageError) -> Order
    {
        try await transitionOrder(
            id: id, from: from, to: to, expiredBy: expiredBy, cancelledBy: expiredBy == nil ? .admin : .expiry, at: now)
    }

    /// Places an order with no limit on the user's open orders.
    public func placeOrder(_ order: Order, claim: IdempotencyClaim?, at now: Date) async throws(StorageError) -> PlaceOrderOutcome {
        try await placeOrder(order, claim: claim, maxOpenOrders: nil, at: now)
    }
}
