import AsyncHTTPClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the Runtime API says about the invocation being handled.
public struct LambdaInvocationContext: Sendable {
    /// `Lambda-Runtime-Aws-Request-Id`.
    public var requestId: String
    /// `Lambda-Runtime-Deadline-Ms`, milliseconds since the Unix epoch.
    public var deadlineMilliseconds: Int64
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    public var invokedFunctionARN: String
    /// `Lambda-Runtime-Trace-Id`, also exported as `_X_AMZN_TRACE_ID` during the invocation.
    public var traceId: String?
    public var logger: Logger

    public init(requestId: String, deadlineMilliseconds: Int64, invokedFunctionARN: String, traceId: String?, logger: Logger) {
        self.requestId = requestId
        self.deadlineMilliseconds = deadlineMilliseconds
        self.invokedFunctionARN = invokedFunctionARN
        self.traceId = traceId
        self.logger = logger
    }

    /// The deadline as a `Date`.
    public var deadline: Date { Date(timeIntervalSince1970: Double(deadlineMilliseconds) / 1000) }

    /// Time left before the deadline.
    public var remainingTime: Duration {
        .milliseconds(deadlineMilliseconds - Int64(Date().timeIntervalSince1970 * 1000))
    }
}

/// A handler: the raw event in, the raw result out. A thrown error is reported as a function error.
public typealias LambdaHandler = @Sendable (ByteBuffer, LambdaInvocationContext) async throws -> ByteBuffer

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
    public func next() async throws -> (ByteBuffer, LambdaInvocationContext) {
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
        let context = LambdaInvocationContext(
            requestId: requestId,
            deadlineMilliseconds: headers.first(name: "Lambda-Runtime-Deadline-Ms").flatMap { Int64($0) } ?? 0,
            invokedFunctionARN: headers.first(name: "Lambda-Runtime-Invoked-Function-Arn") ?? "",
            traceId: headers.first(name: "Lambda-Runtime-Trace-Id"),
            logger: invocationLogger)
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

/// The process's main loop: builds the handler once (init phase), then serves invocations one at a time.
/// An init failure is reported on `/runtime/init/error` and the process exits non-zero.
public enum LambdaRuntime {
    /// Runs one invocation: `_X_AMZN_TRACE_ID` is the invocation's trace id while the handler runs,
    /// the result goes to `/response`, and an error thrown by the handler goes to `/error` as
    /// `{errorType, errorMessage}`. Throws only when the Runtime API itself fails.
    public static func invoke(
        _ handler: LambdaHandler, event: ByteBuffer, context: LambdaInvocationContext, client: LambdaRuntimeClient
    ) async throws {
        if let trace = context.traceId { setenv("_X_AMZN_TRACE_ID", trace, 1) } else { unsetenv("_X_AMZN_TRACE_ID") }
        defer { unsetenv("_X_AMZN_TRACE_ID") }
        let result: ByteBuffer
        do {
            result = try await handler(event, context)
        } catch {
            context.logger.error("invocation failed", metadata: ["error": "\(error)"])
            try await client.fail(requestId: context.requestId, error: error)
            return
        }
        try await client.respond(requestId: context.requestId, body: result)
    }

    public static func run(logger: Logger, makeHandler: (Logger) async throws -> LambdaHandler) async -> Never {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["AWS_LAMBDA_RUNTIME_API"], !endpoint.isEmpty else {
            logger.critical("AWS_LAMBDA_RUNTIME_API is not set; this binary runs inside AWS Lambda or its emulator")
            exit(1)
        }
        let client = LambdaRuntimeClient(endpoint: endpoint, logger: logger)
        let handler: LambdaHandler
        do {
            handler = try await makeHandler(logger)
        } catch {
            logger.critical("initialization failed", metadata: ["error": "\(error)"])
            try? await client.initFailed(error: error)
            await client.shutdown()
            exit(1)
        }
        while true {
            let event: ByteBuffer
            let context: LambdaInvocationContext
            do {
                (event, context) = try await client.next()
            } catch {
                logger.critical("runtime API failed", metadata: ["error": "\(error)"])
                await client.shutdown()
                exit(1)
            }
            do {
                try await invoke(handler, event: event, context: context, client: client)
            } catch {
                logger.critical("runtime API failed", metadata: ["error": "\(error)"])
                await client.shutdown()
                exit(1)
            }
        }
    }
}
