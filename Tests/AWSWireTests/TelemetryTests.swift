import AsyncHTTPClient
import CoreMetrics
import Foundation
import ShopTelemetry
import Testing

@testable import AWSWire

#if canImport(Glibc)
import Glibc
#endif

/// A real UDP socket on 127.0.0.1 standing in for the X-Ray daemon.
final class UDPListener: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        // Reads give up after a second: a missing datagram fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The datagrams received until none comes for a second.
    func drain() -> [String] {
        var datagrams: [String] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return datagrams }
            datagrams.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
    }
}

/// Collects what the send layer records, through swift-metrics' task-local factory (no process-wide bootstrap).
final class RecordingFactory: MetricsFactory, @unchecked Sendable {
    let lock = NSLock()
    var counters: [String: Int64] = [:]
    var timers: [String: Int] = [:]

    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    final class Handler: CounterHandler, TimerHandler, RecorderHandler, MeterHandler, FloatingPointCounterHandler, @unchecked Sendable {
        let factory: RecordingFactory
        let key: String
        init(_ factory: RecordingFactory, _ key: String) {
            self.factory = factory
            self.key = key
        }
        func increment(by amount: Int64) { factory.lock.withLock { factory.counters[key, default: 0] += amount } }
        func increment(by amount: Double) { increment(by: Int64(amount)) }
        func reset() {}
        func recordNanoseconds(_ duration: Int64) { factory.lock.withLock { factory.timers[key, default: 0] += 1 } }
        func record(_ value: Int64) {}
        func record(_ value: Double) {}
        func set(_ value: Int64) {}
        func set(_ value: Double) {}
        func decrement(by: Double) {}
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { Handler(self, Self.key(label, dimensions)) }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        Handler(self, Self.key(label, dimensions))
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler(self, Self.key(label, dimensions))
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { Handler(self, Self.key(label, dimensions)) }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Handler(self, Self.key(label, dimensions)) }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

@Suite struct AWSTelemetryTests {
    static let root = "1-5759e988-bd862e3fe1be46a994272793"
    static let parent = "53995c3f42cd8ad8"

    /// Each DynamoDB call becomes one subsegment under the invocation's trace, sent to the daemon's UDP port; a call
    /// that ends throttled is flagged; the calls are counted by service, operation and outcome.
    @Test func callsBecomeSubsegmentsAndMetrics() async throws {
        let daemon = try UDPListener()
        let emitter = try #require(XRayEmitter(daemonAddress: "udp:127.0.0.1:\(daemon.port) tcp:127.0.0.1:\(daemon.port)"))
        let header = try #require(XRayTraceHeader("Root=\(Self.root);Parent=\(Self.parent);Sampled=1"))
        let throttled = (1...5).map { _ in FaultServer.Fault.aws("ThrottlingException") }
        let server = FaultServer(faults: [.aws("ProvisionedThroughputExceededException")], credentials: RetryTests.credentials)
        let recording = RecordingFactory()
        try await FaultServer.run(server) { endpoint in
            try await RetryTests.withHTTPClient { http in
                let client = RetryTests.client(http, endpoint: endpoint)
                try await withMetricsFactory(recording) {
                    try await XRayTrace.$current.withValue(XRayTrace(header: header, emitter: emitter)) {
                        _ = try await client.call("PutItem", body: RetryTests.putItem)
                        _ = try await client.call("GetItem", body: Array(#"{"TableName":"Orders","Key":{}}"#.utf8))
                    }
                }
            }
        }
        let throttledServer = FaultServer(faults: throttled, credentials: RetryTests.credentials)
        try await FaultServer.run(throttledServer) { endpoint in
            try await RetryTests.withHTTPClient { http in
                let client = RetryTests.client(http, endpoint: endpoint)
                await withMetricsFactory(recording) {
                    await XRayTrace.$current.withValue(XRayTrace(header: header, emitter: emitter)) {
                        _ = try? await client.call("Query", body: Array(#"{"TableName":"Orders"}"#.utf8))
                    }
                }
            }
        }
        // Outside a traced invocation: metrics, no subsegment.
        try await FaultServer.run(FaultServer(faults: [], credentials: RetryTests.credentials)) { endpoint in
            try await RetryTests.withHTTPClient { http in
                try await withMetricsFactory(recording) {
                    _ = try await RetryTests.client(http, endpoint: endpoint).call("Scan", body: Array(#"{"TableName":"Orders"}"#.utf8))
                }
            }
        }

        let datagrams = daemon.drain()
        #expect(datagrams.count == 3)
        var documents: [[String: Any]] = []
        for datagram in datagrams {
            let parts = datagram.split(separator: "\n", maxSplits: 1).map(String.init)
            #expect(parts.count == 2)
            let preamble = try JSONSerialization.jsonObject(with: Data(parts[0].utf8)) as? [String: Any]
            #expect(preamble?["format"] as? String == "json" && preamble?["version"] as? Int == 1)
            documents.append(try #require(try JSONSerialization.jsonObject(with: Data(parts[1].utf8)) as? [String: Any]))
        }
        #expect(documents.map { ($0["aws"] as? [String: Any])?["operation"] as? String } == ["PutItem", "GetItem", "Query"])
        #expect(documents.map { ($0["aws"] as? [String: Any])?["table_name"] as? String } == ["Products", "Orders", "Orders"])
        for document in documents {
            #expect(document["name"] as? String == "DynamoDB")
            #expect(document["trace_id"] as? String == Self.root)
            #expect(document["parent_id"] as? String == Self.parent)
            #expect(document["type"] as? String == "subsegment")
            #expect(document["namespace"] as? String == "aws")
            let id = try #require(document["id"] as? String)
            #expect(id.count == 16 && id.allSatisfy(\.isHexDigit))
            let start = try #require(document["start_time"] as? Double)
            let end = try #require(document["end_time"] as? Double)
            #expect(start > 1_600_000_000 && end >= start)
            #expect((document["aws"] as? [String: Any])?["region"] as? String == "us-east-1")
        }
        #expect(((documents[0]["http"] as? [String: Any])?["response"] as? [String: Any])?["status"] as? Int == 200)
        #expect(((documents[0]["aws"] as? [String: Any])?["retries"] as? Int) == 1, "one throttled attempt, then success")
        #expect(documents[0]["error"] == nil && documents[0]["fault"] == nil)
        #expect(documents[2]["throttle"] as? Bool == true && documents[2]["error"] as? Bool == true)
        #expect(((documents[2]["http"] as? [String: Any])?["response"] as? [String: Any])?["status"] as? Int == 400)

        let counters = recording.lock.withLock { recording.counters }
        #expect(counters["shop_aws_calls_total{service=dynamodb,operation=PutItem,outcome=ok}"] == 1)
        #expect(counters["shop_aws_calls_total{service=dynamodb,operation=GetItem,outcome=ok}"] == 1)
        #expect(counters["shop_aws_calls_total{service=dynamodb,operation=Query,outcome=throttled}"] == 1)
        #expect(counters["shop_aws_calls_total{service=dynamodb,operation=Scan,outcome=ok}"] == 1)
        #expect(
            recording.lock.withLock {
                recording.timers["shop_aws_call_duration_seconds{service=dynamodb,operation=Query,outcome=throttled}"]
            } == 1)
    }

    /// `Sampled=0`, or no parent: nothing is sent.
    @Test func unsampledInvocationsSendNothing() async throws {
        let daemon = try UDPListener()
        let emitter = try #require(XRayEmitter(daemonAddress: "127.0.0.1:\(daemon.port)"))
        for value in ["Root=\(Self.root);Parent=\(Self.parent);Sampled=0", "Root=\(Self.root);Sampled=1"] {
            let trace = XRayTrace(header: try #require(XRayTraceHeader(value)), emitter: emitter)
            trace.record(
                XRaySubsegment(service: "dynamodb", operation: "GetItem", region: "us-east-1", start: Date(), end: Date(), status: 200))
        }
        #expect(daemon.drain().isEmpty)
    }

    @Test func tableNames() {
        #expect(AWSSender.tableName(Array(#"{"TableName":"Orders","Key":{}}"#.utf8)) == "Orders")
        #expect(AWSSender.tableName(Array(#"{"RequestItems":{"Products":{"Keys":[]}}}"#.utf8)) == "Products")
        #expect(AWSSender.tableName(Array(#"{"TransactItems":[{"Put":{"TableName":"Orders"}}]}"#.utf8)) == "Orders")
        #expect(AWSSender.tableName(Array("{}".utf8)) == nil)
    }

    @Test func conditionalFailuresAreTheirOwnOutcome() {
        let failed = AWSError(type: "ConditionalCheckFailedException", message: "x", statusCode: 400)
        #expect(AWSSender.outcome(failed) == "conditional_failed")
        #expect(AWSSender.outcome(AWSError(type: "ThrottlingException", message: "x", statusCode: 400)) == "throttled")
        #expect(AWSSender.outcome(AWSError(type: "ValidationException", message: "x", statusCode: 400)) == "error")
    }
}
