import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambdaHost
import Logging
import NIOCore
import Synchronization
import Testing

/// The Runtime API client and one invocation against a stand-in Runtime API that answers
/// `invocation/next` with the headers Lambda documents and records what comes back.
/// (The whole loop, init errors included, runs under AWS's emulator in scripts/lambda-test.)
// Serialized: invocations set and unset the process-wide `_X_AMZN_TRACE_ID`.
@Suite(.serialized) struct LambdaRuntimeClientTests {
    struct Posted: Sendable, Equatable {
        var path: String
        var body: String
        var errorType: String?
    }

    final class RuntimeAPI: Sendable {
        let posted = Mutex<[Posted]>([])
        let failPosts: Bool
        init(failPosts: Bool = false) { self.failPosts = failPosts }

        func router() -> Router<BasicRequestContext> {
            let router = Router()
            router.get("/2018-06-01/runtime/invocation/next") { _, _ in
                var fields = HTTPFields()
                fields[HTTPField.Name("Lambda-Runtime-Aws-Request-Id")!] = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
                fields[HTTPField.Name("Lambda-Runtime-Deadline-Ms")!] = "1800000000123"
                fields[HTTPField.Name("Lambda-Runtime-Invoked-Function-Arn")!] =
                    "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime"
                fields[HTTPField.Name("Lambda-Runtime-Trace-Id")!] =
                    "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
                fields[.contentType] = "application/json"
                return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: #"{"hello":"world"}"#)))
            }
            router.post("/2018-06-01/runtime/invocation/{id}/{kind}") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                let errorType = request.headers[HTTPField.Name("Lambda-Runtime-Function-Error-Type")!]
                self.posted.withLock { $0.append(Posted(path: request.uri.path, body: String(buffer: body), errorType: errorType)) }
                return Response(status: self.failPosts ? .internalServerError : .accepted)
            }
            return router
        }

        func run(_ body: @Sendable (LambdaRuntimeClient) async throws -> Void) async throws {
            let app = Application(router: router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let runtime = LambdaRuntimeClient(endpoint: "127.0.0.1:\(client.port!)", logger: Logger(label: "test"))
                do {
                    try await body(runtime)
                    await runtime.shutdown()
                } catch {
                    await runtime.shutdown()
                    throw error
                }
            }
        }
    }

    @Test func nextExposesTheInvocationContext() async throws {
        try await RuntimeAPI().run { runtime in
            let (event, context) = try await runtime.next()
            #expect(String(buffer: event) == #"{"hello":"world"}"#)
            #expect(context.requestID == "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
            #expect(context.deadline == Date(timeIntervalSince1970: 1_800_000_000.123))
            #expect(context.invokedFunctionARN == "arn:aws:lambda:us-east-2:123456789012:function:custom-runtime")
            #expect(context.traceID == "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
        }
    }

    @Test func anInvocationSeesItsTraceIdAndReportsItsResult() async throws {
        let api = RuntimeAPI()
        try await api.run { runtime in
            let (event, context) = try await runtime.next()
            try await LambdaRuntime.invoke(
                ByteBufferClosureHandler { event, _ in
                    let trace = ProcessInfo.processInfo.environment["_X_AMZN_TRACE_ID"] ?? "unset"
                    return ByteBuffer(string: "\(String(buffer: event)) \(trace)")
                }, event: event, context: context, client: runtime)
        }
        #expect(
            api.posted.withLock { $0 } == [
                Posted(
                    path: "/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response",
                    body: #"{"hello":"world"} Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"#, errorType: nil)
            ])
        #expect(ProcessInfo.processInfo.environment["_X_AMZN_TRACE_ID"] == nil, "the trace id is only set during the invocation")
    }

    struct OutOfStock: Error, CustomStringConvertible {
        var description: String { "nothing left" }
    }

    @Test func aHandlerErrorGoesToTheErrorEndpoint() async throws {
        let api = RuntimeAPI()
        try await api.run { runtime in
            let (event, context) = try await runtime.next()
            try await LambdaRuntime.invoke(
                ByteBufferClosureHandler { _, _ in throw OutOfStock() }, event: event, context: context, client: runtime)
        }
        let posted = try #require(api.posted.withLock { $0.first })
        #expect(posted.path == "/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/error")
        #expect(posted.errorType == "Unhandled")
        let document = try JSONSerialization.jsonObject(with: Data(posted.body.utf8)) as? [String: String]
        #expect(document == ["errorType": "OutOfStock", "errorMessage": "nothing left"])
    }

    @Test func aFailingRuntimeAPIIsAnError() async throws {
        try await RuntimeAPI(failPosts: true).run { runtime in
            let (event, context) = try await runtime.next()
            await #expect(throws: LambdaRuntimeError.self) {
                try await LambdaRuntime.invoke(
                    ByteBufferClosureHandler { event, _ in event }, event: event, context: context, client: runtime)
            }
        }
    }
}
