import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A stand-in for S3 that answers every request from a script, by method, as real S3 answers a caller
/// that moto cannot imitate (moto does not evaluate IAM: it answers a HEAD of a missing key 404 to
/// anyone). It records each request's method and path. The same idea as Tests/AWSWireTests/FaultServer.swift,
/// on plain NIO, for S3's REST protocol (HEAD and GET with no body).
final class S3StandIn: @unchecked Sendable {
    struct Answer: Sendable {
        var status: Int
        var body: String = ""
        var headers: [(String, String)] = []

        /// An S3 error document, as S3 sends it with a GET's error answer (a HEAD's carries no body).
        static func error(_ status: Int, code: String) -> Answer {
            Answer(
                status: status,
                body:
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>injected</Message><RequestId>0</RequestId></Error>",
                headers: [("Content-Type", "application/xml")])
        }
    }

    private let lock = NSLock()
    private var log: [(method: String, path: String)] = []
    let answer: @Sendable (_ method: String, _ path: String) -> Answer

    init(answer: @escaping @Sendable (_ method: String, _ path: String) -> Answer) { self.answer = answer }

    var requests: [(method: String, path: String)] { lock.withLock { log } }
    func record(_ method: String, _ path: String) { lock.withLock { log.append((method, path)) } }

    /// Serves on 127.0.0.1 (a free port) for the duration of `body`.
    @discardableResult
    func run<Value>(_ body: (_ endpoint: String) async throws -> Value) async throws -> Value {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(Handler(server: self)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let value = try await body("http://127.0.0.1:\(channel.localAddress!.port!)")
            try await channel.close()
            return value
        } catch {
            try? await channel.close()
            throw error
        }
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: S3StandIn
        var head: HTTPRequestHead?

        init(server: S3StandIn) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let request): head = request
            case .body: break
            case .end:
                guard let request = head else { return }
                let path = String(request.uri.split(separator: "?", maxSplits: 1).first ?? "")
                server.record(request.method.rawValue, path)
                let answer = server.answer(request.method.rawValue, path)
                var headers = HTTPHeaders(answer.headers)
                headers.add(name: "x-amz-request-id", value: "0")
                let bytes = Array(answer.body.utf8)
                // A HEAD answer announces no body (S3 sends none with an error to a HEAD).
                headers.add(name: "Content-Length", value: request.method == .HEAD ? "0" : String(bytes.count))
                let status = HTTPResponseStatus(statusCode: answer.status)
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
                if request.method != .HEAD, !bytes.isEmpty {
                    context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                head = nil
            }
        }
    }
}
