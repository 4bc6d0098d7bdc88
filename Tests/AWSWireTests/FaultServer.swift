import AWSWire
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// A stand-in for a JSON-protocol AWS service that answers with scripted faults before it succeeds.
/// It counts every attempt and every write it applies (a write is applied only when it is answered
/// with success), and checks each request's SigV4 signature against what came over the wire.
actor FaultServer {
    enum Fault: Sendable {
        /// An error answer: status, JSON body (nil for none), extra headers.
        case error(status: Int, body: String?, headers: [(String, String)] = [])
        /// Waits before answering 503, so that a client with a shorter timeout gives up first.
        case slow(Duration)

        /// `{"__type": "<namespace>#<type>", "<messageKey>": "<message>"}` as DynamoDB sends it.
        static func aws(_ type: String, status: Int = 400, message: String = "injected fault", messageKey: String = "message") -> Fault {
            .error(status: status, body: #"{"__type":"com.amazonaws.dynamodb.v20120810#\#(type)","\#(messageKey)":"\#(message)"}"#)
        }
    }

    struct Received: Sendable {
        var target: String?
        var contentType: String?
        var headers: [(String, String)]
        var body: [UInt8]
        var signatureValid: Bool
    }

    private var faults: [Fault]
    private(set) var attempts = 0
    private(set) var appliedWrites = 0
    private(set) var received: [Received] = []
    let credentials: AWSCredentials
    let region: String
    let service: String
    /// The body of a successful answer.
    let successBody: String

    init(
        faults: [Fault], credentials: AWSCredentials, region: String = "us-east-1", service: String = "dynamodb", successBody: String = "{}"
    ) {
        self.faults = faults
        self.credentials = credentials
        self.region = region
        self.service = service
        self.successBody = successBody
    }

    /// Records the attempt and decides the answer; a nil fault means success.
    func next(_ request: Received) -> Fault? {
        attempts += 1
        received.append(request)
        if !faults.isEmpty { return faults.removeFirst() }
        if let target = request.target,
            ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"].contains(where: { target.hasSuffix("." + $0) })
        {
            appliedWrites += 1
        }
        return nil
    }

    /// Runs a live server on 127.0.0.1 (a free port) for the duration of `body`.
    static func run<Value: Sendable>(_ server: FaultServer, _ body: @Sendable (_ endpoint: String) async throws -> Value) async throws
        -> Value
    {
        let router = Router()
        router.post("/") { request, _ -> Response in
            let bytes = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            var headers: [(String, String)] = []
            if let authority = request.head.authority { headers.append(("host", authority)) }
            for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
            let received = Received(
                target: headers.values("x-amz-target").first,
                contentType: headers.values("content-type").first,
                headers: headers,
                body: bytes,
                signatureValid: server.verify(headers: headers, path: request.uri.path, body: bytes)
            )
            switch await server.next(received) {
            case nil:
                return Response(
                    status: .ok, headers: [.contentType: "application/x-amz-json-1.0"],
                    body: .init(byteBuffer: ByteBuffer(string: server.successBody)))
            case .error(let status, let json, let extra)?:
                var fields: HTTPFields = [:]
                if json != nil { fields[.contentType] = "application/x-amz-json-1.0" }
                for (name, value) in extra { fields[HTTPField.Name(name)!] = value }
                return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: json ?? "")))
            case .slow(let delay)?:
                try? await Task.sleep(for: delay)
                return Response(status: .serviceUnavailable)
            }
        }
        var logger = Logger(label: "fault-server")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }

    /// Recomputes the signature from the headers the request actually carried (Host included).
    nonisolated func verify(headers: [(String, String)], path: String, body: [UInt8]) -> Bool {
        guard let authorization = headers.values("authorization").first,
            let dateText = headers.values("x-amz-date").first,
            let date = Self.parseAmzDate(dateText),
            let signedPart = authorization.split(separator: " ").first(where: { $0.hasPrefix("SignedHeaders=") })
        else { return false }
        let names = signedPart.dropFirst("SignedHeaders=".count).trimmingCharacters(in: CharacterSet(charactersIn: ",")).split(
            separator: ";"
        ).map(String.init)
        let signedHeaders = headers.filter { names.contains($0.0.lowercased()) }
        guard let host = headers.values("host").first else { return false }
        let signer = SigV4Signer(credentials: credentials, region: region, service: service)
        let expected = signer.sign(method: "POST", url: "http://\(host)\(path)", headers: signedHeaders, body: body, date: date)
        return expected.authorization == authorization
    }

    nonisolated static func parseAmzDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: text)
    }
}
