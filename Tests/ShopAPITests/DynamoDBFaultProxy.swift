import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization

/// A proxy between the DynamoDB store and moto that does what moto does not: it imitates DynamoDB's
/// `ClientRequestToken` rule (a token repeated within 10 minutes gets the first answer, and nothing is
/// applied again; the same token with another request is `IdempotentParameterMismatchException`), and
/// it injects the faults real networks and real DynamoDB produce:
/// - `dropAnswer`: forwards the request (moto applies it), then drops the connection before answering;
/// - `fail500AfterApplying`: forwards it, then answers 500 as if the write had failed;
/// - `conflict`: answers `TransactionCanceledException` with reason `TransactionConflict`, applying nothing.
final class DynamoDBFaultProxy: Sendable {
    enum Fault: Sendable, Equatable {
        case dropAnswer, fail500AfterApplying, conflict
    }

    struct Forwarded: Sendable {
        var operation: String
        var token: String?
    }

    private struct Cached: Sendable {
        var request: [UInt8]
        var status: Int
        var body: [UInt8]
        var at: Date
    }

    let upstream: String
    private let faults = Mutex<[(operation: String, fault: Fault)]>([])
    private let tokens = Mutex<[String: Cached]>([:])
    private let log = Mutex<[Forwarded]>([])
    private let replays = Mutex(0)

    init(upstream: String) {
        self.upstream = upstream
    }

    /// Queues `fault` for the next `count` requests of `operation` (e.g. "TransactWriteItems").
    func inject(_ fault: Fault, on operation: String, times count: Int = 1) {
        faults.withLock { $0 += Array(repeating: (operation, fault), count: count) }
    }

    /// Requests that reached moto, in order.
    var forwarded: [Forwarded] { log.withLock { $0 } }
    /// Requests answered from the token cache without reaching moto.
    var tokenReplays: Int { replays.withLock { $0 } }

    private func nextFault(for operation: String) -> Fault? {
        faults.withLock { queue in
            guard let index = queue.firstIndex(where: { $0.operation == operation }) else { return nil }
            return queue.remove(at: index).fault
        }
    }

    struct Dropped: Error {}

    func handle(_ request: Request) async throws -> Response {
        let target = request.headers[HTTPField.Name("X-Amz-Target")!] ?? ""
        let operation = String(target.split(separator: ".").last ?? "")
        let body = Array(try await request.body.collect(upTo: 4 << 20).readableBytesView)
        let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        let token = json?["ClientRequestToken"] as? String

        if let token, let cached = tokens.withLock({ $0[token] }), Date().timeIntervalSince(cached.at) < 600 {
            guard cached.request == body else {
                return Self.answer(
                    400,
                    #"{"__type":"com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException","message":"token reused with another request"}"#
                )
            }
            replays.withLock { $0 += 1 }
            return Self.answer(cached.status, String(decoding: cached.body, as: UTF8.self))
        }

        let fault = nextFault(for: operation)
        if fault == .conflict {
            let items = (json?["TransactItems"] as? [Any])?.count ?? 1
            let reasons = (0..<items).map {
                $0 == 0 ? #"{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}"# : #"{"Code":"None"}"#
            }
            return Self.answer(
                400,
                #"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]","CancellationReasons":[\#(reasons.joined(separator: ","))]}"#
            )
        }

        var forward = HTTPClientRequest(url: upstream + "/")
        forward.method = .POST
        for field in request.headers where field.name != .contentLength {
            forward.headers.add(name: field.name.rawName, value: field.value)
        }
        forward.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(forward, timeout: .seconds(10))
        let answer = Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
        let status = Int(response.status.code)
        log.withLock { $0.append(Forwarded(operation: operation, token: token)) }
        if let token, (200..<300).contains(status) {
            tokens.withLock { $0[token] = Cached(request: body, status: status, body: answer, at: Date()) }
        }
        switch fault {
        case .dropAnswer?:
            // Promise a body, then fail: the server closes the connection and the client gets no answer.
            return Response(
                status: .ok, headers: [.contentType: "application/x-amz-json-1.0", .contentLength: "4096"],
                body: ResponseBody { _ in throw Dropped() })
        case .fail500AfterApplying?:
            return Self.answer(500, #"{"__type":"com.amazon.coral.availability#InternalServerError","message":"injected after applying"}"#)
        default:
            return Self.answer(status, String(decoding: answer, as: UTF8.self))
        }
    }

    static func answer(_ status: Int, _ body: String) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/x-amz-json-1.0"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Runs the proxy on 127.0.0.1 (a free port) for the duration of `body`.
    func run<Value: Sendable>(_ body: @Sendable (_ endpoint: String) async throws -> Value) async throws -> Value {
        let router = Router()
        router.post("/") { request, _ in try await self.handle(request) }
        var logger = Logger(label: "dynamodb-fault-proxy")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in try await body("http://127.0.0.1:\(client.port!)") }
    }
}
