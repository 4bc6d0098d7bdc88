import CoreMetrics
import Hummingbird
import LambdaHost
import Logging
import NIOCore
import ShopAPI
import ShopAssembly
import ShopDomain
import ShopTelemetry

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The init phase's duration (the first invocation's cold-start metric) counts from here.
let initStarted = ContinuousClock.now
// The function's whole environment is read here, once: FunctionSetup parses the configuration and
// picks the secrets source from it, and no other module looks at the process environment.
let environment = ProcessInfo.processInfo.environment
// The log level is needed before the configuration can be parsed (that needs the secrets first); an
// invalid value is reported by the full parse in the init phase.
let logLevel = environment["SHOP_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
LoggingSystem.bootstrap { label in
    var handler = JSONLogHandler(label: label)
    handler.logLevel = logLevel
    return handler
}
let logger = Logger(label: "ShopLambda")

// Metrics: CloudWatch's embedded metric format, one object on stdout per invocation (whatever SHOP_LOG_LEVEL says).
// Traces: each AWS call as an X-Ray subsegment, when Lambda runs the X-Ray daemon (active tracing sets its address).
let embeddedMetrics = EmbeddedMetricsFactory(function: environment["AWS_LAMBDA_FUNCTION_NAME"] ?? "ShopLambda")
ShopMetrics.bootstrap(embeddedMetrics)
let xray = environment["AWS_XRAY_DAEMON_ADDRESS"].flatMap { XRayEmitter(daemonAddress: $0) }
if let address = environment["AWS_XRAY_DAEMON_ADDRESS"], xray == nil {
    logger.warning("AWS_XRAY_DAEMON_ADDRESS is not an IPv4 host:port; no X-Ray subsegments", metadata: ["value": "\(address)"])
}

// The init phase: everything is built once, before the first invocation (the secrets too: Secrets
// Manager is read here); a failure is reported on the Runtime API's init-error endpoint and the process exits.
let handler = await LambdaInitialization.run(logger: logger) { () async throws -> ByteBufferClosureHandler in
    let (configuration, secrets) = try await FunctionSetup.load(environment: environment, logger: logger)
    let role = try FunctionRole(handler: configuration.function.handler)
    let host = HostParts(secrets: try await secrets.secrets(for: configuration), logger: logger)
    let services = try await ShopAssembly.assemble(configuration, host: host).services
    logger.info("initialized", metadata: ["role": "\(role)", "trust_authorizer_claims": "\(configuration.function.trustAuthorizerClaims)"])
    switch role {
    case .sweep:
        let publisher = configuration.events.bus.map {
            EventBridgePublisher($0, httpClient: host.httpClient, clock: host.clock, logger: logger)
        }
        let publish: (@Sendable (OrderEvent) async throws -> Void)?
        if let publisher {
            publish = { @Sendable event in try await publisher.publish(event) }
        } else {
            publish = nil
        }
        return ByteBufferClosureHandler { _, context in
            // DynamoDB's TTL drops expired idempotency keys: no whole-table scan from the schedule.
            let (expired, refunds) = try await services.sweep(logger: context.logger, purgeIdempotencyKeys: false)
            // The outbox: events the stream gave up on (they are in its dead-letter queue too), and retries of emails
            // and webhooks that are due.
            let (dispatched, delivered) = try await services.sweepOutbox(
                until: context.deadline.addingTimeInterval(-OutboxStreamHandler.deliveryReserve), publish: publish)
            context.logger.info(
                "swept",
                metadata: [
                    "expired": "\(expired)", "refunds_retried": "\(refunds)", "events_dispatched": "\(dispatched)",
                    "deliveries_sent": "\(delivered)",
                ])
            return ByteBuffer(
                string:
                    #"{"expired":\#(expired),"refundsRetried":\#(refunds),"eventsDispatched":\#(dispatched),"deliveriesSent":\#(delivered)}"#
            )
        }
    case .events:
        let publisher = configuration.events.bus.map {
            EventBridgePublisher($0, httpClient: host.httpClient, clock: host.clock, logger: logger)
        }
        let stream = OutboxStreamHandler(events: services.events, publisher: publisher, logger: logger)
        return ByteBufferClosureHandler { event, context in
            ByteBuffer(bytes: try await stream.handle(Array(event.readableBytesView), deadline: context.deadline))
        }
    case .api(let area):
        // Only this area's routes: any other path is the router's own 404 envelope.
        let adapter = APIGatewayAdapter(
            responder: buildRouter(services: services, areas: [area], context: FunctionRequestContext.self).buildResponder(),
            trustAuthorizerClaims: configuration.function.trustAuthorizerClaims)
        return ByteBufferClosureHandler { event, context in try await adapter.handle(event, context: context) }
    }
}

await LambdaRuntime(
    handler: handler, logger: logger, telemetry: LambdaTelemetry(metrics: embeddedMetrics, xray: xray, initStarted: initStarted)
).run()
