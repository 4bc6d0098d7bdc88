#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import LambdaHost
import Logging
import NIOCore
import ShopAPI

/// The areas one function can serve, chosen by `_HANDLER`.
enum Area: String {
    case products, orders, auth, payment, sweep

    /// The path prefixes an API area answers; `/health` is always answered.
    var prefixes: [String] {
        switch self {
        case .products: ["/products"]
        case .orders: ["/orders"]
        case .auth: ["/auth", "/.well-known"]
        case .payment: ["/payment"]
        case .sweep: []
        }
    }

    func serves(_ path: String) -> Bool {
        if path == "/health" { return true }
        return prefixes.contains { path == $0 || path.hasPrefix($0 + "/") }
    }

    /// `_HANDLER` may be a bare area or `something.area`.
    init?(handler: String) {
        let name = handler.split(separator: ".").last.map(String.init) ?? handler
        self.init(rawValue: name.lowercased())
    }
}

let environment = ProcessInfo.processInfo.environment
LoggingSystem.bootstrap { label in
    var handler = JSONLogHandler(label: label)
    handler.logLevel = Logger.Level(rawValue: environment["SHOP_LOG_LEVEL"] ?? "info") ?? .info
    return handler
}
let logger = Logger(label: "ShopLambda")

await LambdaRuntime.run(logger: logger) { logger in
    let handlerName = environment["_HANDLER"] ?? ""
    guard let area = Area(handler: handlerName) else {
        throw LambdaConfigurationError(
            description: "_HANDLER=\(handlerName) must be one of products, orders, auth, payment, sweep")
    }
    let configuration = try ShopConfiguration(environment: environment)
    let services = try await LambdaServices.build(configuration, environment: environment, logger: logger)
    logger.info("initialized", metadata: ["area": "\(area.rawValue)", "trust_authorizer_claims": "\(configuration.trustAuthorizerClaims)"])
    if area == .sweep {
        let orders = services.orders
        return { _, context in
            let expired = try await orders.expireDue(logger: context.logger)
            context.logger.info("expired overdue orders", metadata: ["count": "\(expired)"])
            return ByteBuffer(string: #"{"expired":\#(expired)}"#)
        }
    }
    let adapter = APIGatewayAdapter(
        responder: buildRouter(services: services, context: LambdaContext.self).buildResponder(),
        trustAuthorizerClaims: configuration.trustAuthorizerClaims,
        accepts: { area.serves($0) },
        rejection: { request, context in try RouteNotFound.response(to: request, context: context) })
    return { event, context in try await adapter.handle(event, context: context) }
}
