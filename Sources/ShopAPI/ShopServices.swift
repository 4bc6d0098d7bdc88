import Identity
import Payments
import ShopStorage

/// Everything the routes need, built once per process by a host.
public struct ShopServices: Sendable {
    public var catalog: CatalogService
    public var orders: OrderService
    public var identity: any IdentityProvider
    public var verifier: TokenVerifier
    public var cursors: CursorCodec
    /// Served at `/.well-known/jwks.json` when the local issuer signs tokens.
    public var jwksJSON: String?
    public var images: ImageService
    /// Set when images are files on this server: adds the signed upload and image routes.
    public var localImages: (any LocalImageFiles)?
    public var payments: PaymentService
    /// The store settings (shipping zones, methods, tax rates) and shoppers' address books.
    public var settings: SettingsService
    public var addresses: AddressService
    /// The outbox: order timelines, and what events send.
    public var events: EventService
    /// The merchant's figures.
    public var stats: StatsService
    /// Set when the gateway is the simulator: adds its confirm and 3-D Secure routes.
    public var simulator: (any PaymentSimulator)?
    /// Rate limits of the sign-in routes; off unless the host sets them.
    public var limits: AbuseLimits = .off
    /// `SHOP_PUBLIC_URL`: the address clients reach the store at (`https://shop.example.com`), the base of every
    /// absolute URL the server makes. Nil: `http://` and the request's own host, right only without TLS in front.
    public var publicURL: String?

    public init(
        catalog: CatalogService, orders: OrderService, identity: any IdentityProvider, verifier: TokenVerifier,
        cursors: CursorCodec, jwksJSON: String?, images: ImageService, localImages: (any LocalImageFiles)?,
        payments: PaymentService, simulator: (any PaymentSimulator)?, settings: SettingsService, addresses: AddressService,
        events: EventService, stats: StatsService
    ) {
        self.events = events
        self.stats = stats
        self.settings = settings
        self.addresses = addresses
        self.payments = payments
        self.simulator = simulator
        self.catalog = catalog
        self.orders = orders
        self.identity = identity
        self.verifier = verifier
        self.cursors = cursors
        self.jwksJSON = jwksJSON
        self.images = images
        self.localImages = localImages
    }
}
