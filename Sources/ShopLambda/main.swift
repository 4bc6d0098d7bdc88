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
import ShopAssembly

// The function's whole environment is read here, once: the configuration and the secrets source
// get it from this line, and no other module looks at the process environment.
let environment = ProcessInfo.processInfo.environment
let parsed = Result { try ShopConfiguration(environment: environment) }
let logLevel = (try? parsed.get())?.logLevel ?? .info
LoggingSystem.bootstrap { label in
    var handler = JSONLogHandler(label: label)
    handler.logLevel = logLevel
    return handler
}
let logger = Logger(label: "ShopLambda")

// The init phase: everything is built once, before the first invocation; a failure is reported on
// the Runtime API's init-error endpoint and the process exits.
let handler = await LambdaInitialization.run(logger: logger) { () async throws -> ClosureHandler in
    let configuration = try parsed.get()
    let role = try FunctionRole(handler: configuration.function.handler)
    let host = HostParts(secrets: try await EnvironmentSecrets(environment: environment).secrets(for: configuration), logger: logger)
    let services = try await ShopAssembly.assemble(configuration, host: host).services
    logger.info("initialized", metadata: ["role": "\(role)", "trust_authorizer_claims": "\(configuration.function.trustAuthorizerClaims)"])
    switch role {
    case .sweep:
        return ClosureHandler { _, context in
            // DynamoDB's TTL drops expired idempotency keys: no whole-table scan from the schedule.
            let (expired, refunds) = try await services.sweep(logger: context.logger, purgeIdempotencyKeys: false)
            context.logger.info("swept", metadata: ["expired": "\(expired)", "refunds_retried": "\(refunds)"])
            return ByteBuffer(string: #"{"expired":\#(expired),"refundsRetried":\#(refunds)}"#)
        }
    case .api(let area):
        // Only this area's routes: any other path is the router's own 404 envelope.
        let adapter = APIGatewayAdapter(
            responder: buildRouter(services: services, areas: [area], context: FunctionRequestContext.self).buildResponder(),
            trustAuthorizerClaims: configuration.function.trustAuthorizerClaims)
        return ClosureHandler { event, context in try await adapter.handle(event, context: context) }
    }
}

await LambdaRuntime(handler: handler, logger: logger).run()
