import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ShopTelemetry

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The invocation being handled, as the Runtime API describes it: swift-aws-lambda-runtime 2.x's
/// `LambdaContext`, with the fields this project uses (see docs/ARCHITECTURE.md for the mapping).
public struct LambdaContext: Sendable {
    /// `Lambda-Runtime-Aws-Request-Id`.
    public var requestID: String
    /// `Lambda-Runtime-Trace-Id`, also exported as `_X_AMZN_TRACE_ID` during the invocation.
    public var traceID: String?
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    public var invokedFunctionARN: String
    /// `Lambda-Runtime-Deadline-Ms`: when the invocation times out.
    public var deadline: Date
    /// The runtime's logger with the request id as metadata.
    public var logger: Logger

    public init(requestID: String, traceID: String?, invokedFunctionARN: String, deadline: Date, logger: Logger) {
        self.requestID = requestID
        self.traceID = traceID
        self.invokedFunctionARN = invokedFunctionARN
        self.deadline = deadline
        self.logger = logger
    }

    /// Time left before the deadline.
    public var remainingTime: Duration {
        .milliseconds(Int64((deadline.timeIntervalSince1970 - Date().timeIntervalSince1970) * 1000))
    }
}

/// A handler of raw events: the event's bytes in, the result's bytes out; a thrown error is reported as
/// a function error. (swift-aws-lambda-runtime 2.x's `StreamingLambdaHandler` writes its result to a
/// response writer instead; its typed `LambdaHandler` decodes the event first.)
public protocol ByteBufferLambdaHandler: Sendable {
    func handle(_ event: ByteBuffer, context: LambdaContext) async throws -> ByteBuffer
}

/// A handler made from a closure, as `LambdaRuntime { (event, context) in ... }` makes one.
public struct ByteBufferClosureHandler: ByteBufferLambdaHandler {
    let body: @Sendable (ByteBuffer, LambdaContext) async throws -> ByteBuffer

    public init(_ body: @escaping @Sendable (ByteBuffer, LambdaContext) async throws -> ByteBuffer) {
        self.body = body
    }

    public func handle(_ event: ByteBuffer, context: LambdaContext) async throws -> ByteBuffer {
        try await body(event, context)
    }
}

/// The error document the Runtime API accepts.
struct LambdaErrorDocument: Encodable {
    var errorType: String
    var errorMessage: String
}

/// A failure talking to the Runtime API itself; the loop cannot go on after one.
public struct LambdaRuntimeError: Error, CustomStringConvertible {
    public let description: String
}

/// The Lambda Runtime API client over one persistent HTTP connection.
public final class LambdaRuntimeClient: Sendable {
    let httpClient: HTTPClient
    let base: String
    let logger: Logger

    /// `endpoint` is `AWS_LAMBDA_RUNTIME_API` (host:port).
    public init(endpoint: String, logger: Logger) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .hours(24), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .seconds(5), read: nil)
        httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        base = "http://\(endpoint)/2018-06-01/runtime"
        self.logger = logger
    }

    public func shutdown() async {
        try? await httpClient.shutdown()
    }

    /// Blocks until the next invocation arrives.
    public func next() async throws -> (ByteBuffer, LambdaContext) {
        let request = HTTPClientRequest(url: base + "/invocation/next")
        let response = try await httpClient.execute(request, timeout: .hours(24 * 365))
        let body = try await response.body.collect(upTo: 6 * 1024 * 1024 + 1024)
        guard response.status == .ok else {
            throw LambdaRuntimeError(description: "invocation/next answered \(response.status.code)")
        }
        let headers = response.headers
        guard let requestId = headers.first(name: "Lambda-Runtime-Aws-Request-Id") else {
            throw LambdaRuntimeError(description: "invocation/next without Lambda-Runtime-Aws-Request-Id")
        }
        var invocationLogger = logger
        invocationLogger[metadataKey: "aws_request_id"] = .string(requestId)
        let deadlineMilliseconds = headers.first(name: "Lambda-Runtime-Deadline-Ms").flatMap { Int64($0) } ?? 0
        let context = LambdaContext(
            requestID: requestId, traceID: headers.first(name: "Lambda-Runtime-Trace-Id"),
            invokedFunctionARN: headers.first(name: "Lambda-Runtime-Invoked-Function-Arn") ?? "",
            deadline: Date(timeIntervalSince1970: Double(deadlineMilliseconds) / 1000), logger: invocationLogger)
        return (body, context)
    }

    /// Reports the result of invocation `requestId`.
    public func respond(requestId: String, body: ByteBuffer) async throws {
        try await post(base + "/invocation/\(requestId)/response", body: body, headers: [:])
    }

    /// Reports invocation `requestId` as failed.
    public func fail(requestId: String, error: any Error) async throws {
        try await post(base + "/invocation/\(requestId)/error", body: Self.errorBody(error), headers: Self.errorHeaders(error))
    }

    /// Reports an initialization failure.
    public func initFailed(error: any Error) async throws {
        try await post(base + "/init/error", body: Self.errorBody(error), headers: Self.errorHeaders(error))
    }

    static func errorType(_ error: any Error) -> String {
        String(describing: type(of: error))
    }

    static func errorHeaders(_ error: any Error) -> [String: String] {
        ["Lambda-Runtime-Function-Error-Type": "Unhandled"]
    }

    static func errorBody(_ error: any Error) -> ByteBuffer {
        let document = LambdaErrorDocument(errorType: errorType(error), errorMessage: String(describing: error))
        let data = (try? JSONEncoder().encode(document)) ?? Data(#"{"errorType":"Error","errorMessage":"unknown"}"#.utf8)
        return ByteBuffer(bytes: data)
    }

    func post(_ url: String, body: ByteBuffer, headers: [String: String]) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.body = .bytes(body)
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await httpClient.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw LambdaRuntimeError(description: "\(url) answered \(response.status.code)")
        }
    }
}

/// What the runtime loop does for metrics and traces around each invocation. The host's `main` makes it from the
/// environment (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_XRAY_DAEMON_ADDRESS`) and bootstraps swift-metrics with `metrics`.
public struct LambdaTelemetry: Sendable {
    /// Flushed (one EMF object on standard output) at the end of every invocation, before its result is reported.
    public var metrics: EmbeddedMetricsFactory?
    /// Where the AWS calls' X-Ray subsegments go, for invocations that carry a trace header.
    public var xray: XRayEmitter?
    /// When `main` started: the first invocation records the init phase's duration and a cold start.
    public var initStarted: ContinuousClock.Instant?

    public init(metrics: EmbeddedMetricsFactory? = nil, xray: XRayEmitter? = nil, initStarted: ContinuousClock.Instant? = nil) {
        self.metrics = metrics
        self.xray = xray
        self.initStarted = initStarted
    }
}

/// The runtime loop of one function process, shaped like swift-aws-lambda-runtime 2.x's:
/// `try await LambdaRuntime { (event, context) in ... }.run()`. It asks the Runtime API for the next
/// invocation, runs the handler, reports the result, and repeats.
public struct LambdaRuntime<Handler: ByteBufferLambdaHandler>: Sendable {
    let handler: Handler
    let logger: Logger
    let telemetry: LambdaTelemetry

    public init(handler: Handler, logger: Logger = Logger(label: "LambdaRuntime"), telemetry: LambdaTelemetry = .init()) {
        self.handler = handler
        self.logger = logger
        self.telemetry = telemetry
    }

    /// Runs one invocation: `_X_AMZN_TRACE_ID` is the invocation's trace id while the handler runs,
    /// the result goes to `/response`, and an error thrown by the handler goes to `/error` as
    /// `{errorType, errorMessage}`. Throws only when the Runtime API itself fails.
    public static func invoke(
        _ handler: Handler, event: ByteBuffer, context: LambdaContext, client: LambdaRuntimeClient, telemetry: LambdaTelemetry = .init()
    ) async throws {
        if let trace = context.traceID { setenv("_X_AMZN_TRACE_ID", trace, 1) } else { unsetenv("_X_AMZN_TRACE_ID") }
        defer { unsetenv("_X_AMZN_TRACE_ID") }
        // The invocation's AWS calls become subsegments of its trace when the daemon is known and the header is valid.
        let trace = telemetry.xray.flatMap { emitter in
            context.traceID.flatMap(XRayTraceHeader.init).map { XRayTrace(header: $0, emitter: emitter) }
        }
        let result: ByteBuffer
        do {
            result = try await XRayTrace.$current.withValue(trace) { try await handler.handle(event, context: context) }
        } catch {
            context.logger.error("invocation failed", metadata: ["error": "\(error)"])
            telemetry.metrics?.flush()
            try await client.fail(requestId: context.requestID, error: error)
            return
        }
        // The metrics before the result: once it is reported, Lambda may freeze the process.
        telemetry.metrics?.flush()
        try await client.respond(requestId: context.requestID, body: result)
    }

    /// Serves invocations until the Runtime API fails, then exits the process non-zero.
    public func run() async -> Never {
        let client = LambdaRuntimeEnvironment.client(logger: logger)
        var first = true
        while true {
            let event: ByteBuffer
            let context: LambdaContext
            do {
                (event, context) = try await client.next()
                if first, let initStarted = telemetry.initStarted {
                    ShopMetrics.coldStart(initDuration: ContinuousClock.now - initStarted)
                }
                first = false
                try await Self.invoke(handler, event: event, context: context, client: client, telemetry: telemetry)
            } catch {
                logger.critical("runtime API failed", metadata: ["error": "\(error)"])
                await client.shutdown()
                exit(1)
            }
        }
    }
}

extension LambdaRuntime where Handler == ByteBufferClosureHandler {
    /// `LambdaRuntime { (event, context) in ... }`.
    public init(
        logger: Logger = Logger(label: "LambdaRuntime"), telemetry: LambdaTelemetry = .init(),
        body: @escaping @Sendable (ByteBuffer, LambdaContext) async throws -> ByteBuffer
    ) {
        self.init(handler: ByteBufferClosureHandler(body), logger: logger, telemetry: telemetry)
    }
}

/// The init phase. swift-aws-lambda-runtime 2.x leaves it to `main`; this project also reports an init
/// failure on `/runtime/init/error`, as the Runtime API asks, so the emulator and CloudWatch show why.
public enum LambdaInitialization {
    /// Runs `body` (build the handler's dependencies) and returns its value; if it throws, the error is
    /// reported on `/runtime/init/error` and the process exits non-zero.
    public static func run<Value>(logger: Logger, _ body: () async throws -> Value) async -> Value {
        do {
            return try await body()
        } catch {
            logger.critical("initialization failed", metadata: ["error": "\(error)"])
            let client = LambdaRuntimeEnvironment.client(logger: logger)
            try? await client.initFailed(error: error)
            await client.shutdown()
            exit(1)
        }
    }
}

/// The Runtime API's address. This is the one place outside a host's `main` that reads the process
/// environment, as the Lambda protocol requires (`AWS_LAMBDA_RUNTIME_API`).
enum LambdaRuntimeEnvironment {
    static func client(logger: Logger) -> LambdaRuntimeClient {
        guard let endpoint = ProcessInfo.processInfo.environment["AWS_LAMBDA_RUNTIME_API"], !endpoint.isEmpty else {
            logger.critical("AWS_LAMBDA_RUNTIME_API is not set; this binary runs inside AWS Lambda or its emulator")
            exit(1)
        }
        return LambdaRuntimeClient(endpoint: endpoint, logger: logger)
    }
}
