import Hummingbird
import Identity
import Logging
import Payments
import ServiceLifecycle
import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The parts of the API a router serves. `shop serve` serves all of them; each Lambda function one,
/// so that a function's 404 and 405 come from its own router.
public enum APIArea: String, Sendable, CaseIterable {
    /// `/products/...`, `/settings`, and the local image routes when images are files on this server.
    case products
    /// `/orders/...`, `/account/addresses/...`, `/admin/stats`.
    case orders
    /// `/auth/...` and the local issuer's `/.well-known/jwks.json`.
    case auth
    /// `/payment/...`: starting a payment, the gateway's webhook, the simulator's steps.
    case payment
}

/// What `shop serve` adds in front of the API: the website's files and cross-origin access for listed origins.
/// A Lambda function has neither (on AWS, CloudFront serves the files and the HTTP API answers CORS).
public struct SiteOptions: Sendable {
    public var web: WebSite?
    /// Origins (`https://shop.example.com`) allowed to call the API from a page of theirs.
    public var corsOrigins: [String]

    public init(web: WebSite? = nil, corsOrigins: [String] = []) {
        self.web = web
        self.corsOrigins = corsOrigins
    }
}

/// The one router every host serves: `/health`, then the routes of the chosen areas.
public func buildRouter<Context: ShopRequestContext>(
    services: ShopServices, areas: Set<APIArea> = Set(APIArea.allCases), site: SiteOptions = .init(),
    context: Context.Type = ShopContext.self
) -> Router<Context> {
    let router = Router(context: Context.self)
    router.add(
        middleware: RequestMiddleware<Context>(
            crossOrigin: site.corsOrigins.isEmpty ? nil : CrossOrigin(origins: Set(site.corsOrigins)), site: site.web,
            authentication: Authentication(verifier: services.verifier)))
    addRoutes(to: router, services: services, areas: areas)
    addMethodNotAllowed(to: router)
    return router
}

/// The routes `buildRouter` registers for `services` and `areas`, as `"METHOD /path"`, without the
/// generated 405 answers: what docs/API.md must describe.
public func routeTable(services: ShopServices, areas: Set<APIArea> = Set(APIArea.allCases)) -> [String] {
    let router = Router(context: ShopContext.self)
    addRoutes(to: router, services: services, areas: areas)
    return router.routes.map { "\($0.method) \($0.path)" }
}

func addRoutes<Context: ShopRequestContext>(to router: Router<Context>, services: ShopServices, areas: Set<APIArea>) {
    router.get("health") { _, _ in
        // Load balancers ask often: the bytes JSONEncoder wrote for ["status": "ok"], without JSONEncoder.
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }
    router.get("openapi.json") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
    }
    if areas.contains(.auth) {
        AuthController<Context>(identity: services.identity, limits: services.limits, jwksJSON: services.jwksJSON).addRoutes(to: router)
    }
    if areas.contains(.products) {
        ProductsController<Context>(
            catalog: services.catalog, images: services.images, cursors: services.cursors, publicURL: services.publicURL,
            settings: services.settings
        ).addRoutes(to: router)
        SettingsController<Context>(settings: services.settings).addRoutes(to: router)
        if let localImages = services.localImages {
            LocalImagesController<Context>(store: localImages).addRoutes(to: router)
        }
    }
    if areas.contains(.orders) {
        OrdersController<Context>(
            orders: services.orders, payments: services.payments, events: services.events, identity: services.identity,
            cursors: services.cursors
        ).addRoutes(to: router)
        AddressesController<Context>(addresses: services.addresses).addRoutes(to: router)
        AdminController<Context>(stats: services.stats).addRoutes(to: router)
    }
    if areas.contains(.payment) {
        PaymentsController<Context>(payments: services.payments, simulator: services.simulator).addRoutes(to: router)
    }
}

/// A known path with an unsupported method answers 405 with `Allow`, not 404.
func addMethodNotAllowed<Context: ShopRequestContext>(to router: Router<Context>) {
    let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch]
    var byPath: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
    for route in router.routes {
        byPath[route.path.description, default: (route.path, [])].methods.insert(route.method)
    }
    for (_, entry) in byPath {
        let allow = methods.filter(entry.methods.contains).map(\.rawValue).joined(separator: ", ")
        for method in methods where !entry.methods.contains(method) {
            router.on(entry.path, method: method) { request, _ -> Response in
                throw APIError(
                    .methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed here; use \(allow).",
                    headers: [.allow: allow])
            }
        }
    }
}

/// `shop serve`: the router behind Hummingbird's HTTP server, plus background services.
public func buildApplication(
    host: String, port: Int, services: ShopServices, site: SiteOptions = .init(), backgroundServices: [any Service] = [],
    logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(services: services, site: site, context: ShopContext.self),
        configuration: .init(address: .hostname(host, port: port), serverName: "ServerlessShop"),
        services: backgroundServices,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: logger)
}
