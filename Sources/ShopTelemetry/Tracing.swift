import Synchronization

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

// MARK: - W3C trace context (shop serve)

/// A W3C `traceparent` header: `00-<trace id, 32 hex>-<parent span id, 16 hex>-<flags, 2 hex>`.
public struct TraceParent: Sendable, Equatable {
    public var traceId: String
    public var spanId: String
    public var flags: String

    public init(traceId: String, spanId: String, flags: String = "01") {
        self.traceId = traceId
        self.spanId = spanId
        self.flags = flags
    }

    /// Parses a header value by the W3C rules: lower-case hex only, version `ff` invalid, all-zero ids invalid; version 00
    /// is exactly 55 characters, a later version may append `-…` fields, which are ignored. Nil for anything else.
    public init?(header: String) {
        let bytes = Array(header.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-") else {
            return nil
        }
        let version = bytes[0..<2]
        let trace = bytes[3..<35]
        let span = bytes[36..<52]
        let flagBytes = bytes[53..<55]
        guard [version, trace, span, flagBytes].allSatisfy({ $0.allSatisfy(Self.isLowerHex) }) else { return nil }
        let versionText = String(decoding: version, as: UTF8.self)
        guard versionText != "ff" else { return nil }
        if versionText == "00" {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55 {
            guard bytes[55] == UInt8(ascii: "-") else { return nil }
        }
        guard trace.contains(where: { $0 != UInt8(ascii: "0") }), span.contains(where: { $0 != UInt8(ascii: "0") }) else { return nil }
        traceId = String(decoding: trace, as: UTF8.self)
        spanId = String(decoding: span, as: UTF8.self)
        flags = String(decoding: flagBytes, as: UTF8.self)
    }

    public var header: String { "00-\(traceId)-\(spanId)-\(flags)" }

    /// The trace a request belongs to, continued (the caller's trace id and flags, a new span id for this server), or
    /// a new trace when the caller sent no valid `traceparent`.
    public static func continuing(_ header: String?) -> TraceParent {
        if let header, let parent = TraceParent(header: header) {
            return TraceParent(traceId: parent.traceId, spanId: TraceIds.spanId(), flags: parent.flags)
        }
        return TraceParent(traceId: TraceIds.traceId(), spanId: TraceIds.spanId(), flags: "01")
    }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

/// Random ids for traces and spans, from a xoshiro256** generator seeded once by the system's: asking the kernel on
/// every request costs more than the rest of the middleware. Ids must be unique, not secret.
public enum TraceIds {
    private static let state = Mutex<(UInt64, UInt64, UInt64, UInt64)>(
        {
            var system = SystemRandomNumberGenerator()
            return (system.next(), system.next(), system.next(), system.next() | 1)
        }())

    static func next() -> UInt64 {
        state.withLock { s in
            let result = rotate(s.1 &* 5, 7) &* 9
            let t = s.1 << 17
            s.2 ^= s.0
            s.3 ^= s.1
            s.1 ^= s.2
            s.0 ^= s.3
            s.2 ^= t
            s.3 = rotate(s.3, 45)
            return result
        }
    }

    private static func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// 16 lower-case hex digits, never all zeros.
    public static func spanId() -> String {
        var value = next()
        if value == 0 { value = 1 }
        return hex(value, digits: 16)
    }

    /// 32 lower-case hex digits.
    public static func traceId() -> String { hex(next(), digits: 16) + hex(next() | 1, digits: 16) }

    static func hex(_ value: UInt64, digits: Int) -> String {
        String(unsafeUninitializedCapacity: digits) { buffer in
            for index in 0..<digits {
                let nibble = UInt8(truncatingIfNeeded: value >> UInt64((digits - 1 - index) * 4)) & 0xF
                buffer[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            }
            return digits
        }
    }
}

// MARK: - X-Ray (functions)

/// The X-Ray trace header Lambda hands each invocation (`Lambda-Runtime-Trace-Id`, `_X_AMZN_TRACE_ID`):
/// `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`.
public struct XRayTraceHeader: Sendable, Equatable {
    public var root: String
    public var parent: String?
    /// Nil when the header does not say (the daemon's sampling then decides; this code sends).
    public var sampled: Bool?

    public init?(_ header: String) {
        var root: String?
        for field in header.split(separator: ";") {
            let parts = field.split(separator: "=", maxSplits: 1).map { trimmed(String($0)) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "Root": root = parts[1]
            case "Parent": parent = parts[1]
            case "Sampled": sampled = parts[1] == "1" ? true : parts[1] == "0" ? false : nil
            default: continue
            }
        }
        guard let root, Self.validRoot(root) else { return nil }
        self.root = root
        if let parent, parent.utf8.count != 16 || !parent.utf8.allSatisfy(TraceParent.isLowerHex) { self.parent = nil }
    }

    /// `1-<8 hex>-<24 hex>`.
    static func validRoot(_ root: String) -> Bool {
        let parts = root.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0] == "1" && parts[1].utf8.count == 8 && parts[2].utf8.count == 24
            && parts[1].utf8.allSatisfy(TraceParent.isLowerHex) && parts[2].utf8.allSatisfy(TraceParent.isLowerHex)
    }
}

/// The trace an invocation's AWS calls belong to, and where their subsegments go. The Lambda runtime loop sets it for
/// the handler's task (`XRayTrace.$current.withValue`); `AWSSender.send` reads it.
public struct XRayTrace: Sendable {
    public var header: XRayTraceHeader
    public var emitter: XRayEmitter

    public init(header: XRayTraceHeader, emitter: XRayEmitter) {
        self.header = header
        self.emitter = emitter
    }

    @TaskLocal public static var current: XRayTrace?

    /// A subsegment under the invocation's segment, or nothing when the invocation is not traced (no trace header, no
    /// parent, `Sampled=0`).
    public func record(_ call: XRaySubsegment) {
        guard header.sampled != false, let parent = header.parent else { return }
        emitter.send(call.document(traceId: header.root, parentId: parent))
    }
}

/// One AWS call as an X-Ray subsegment (the segment document format, `namespace: aws`).
public struct XRaySubsegment: Sendable {
    /// The service as X-Ray names it: `DynamoDB`, `S3`, `CognitoIdentityProvider`, …
    public var name: String
    public var operation: String
    public var region: String
    public var tableName: String?
    public var start: Date
    public var end: Date
    /// The HTTP status of the last answer; nil when none came (a transport error).
    public var status: Int?
    public var throttled: Bool
    public var retries: Int
    public var id: String

    public init(
        service: String, operation: String, region: String, tableName: String? = nil, start: Date, end: Date, status: Int?,
        throttled: Bool = false, retries: Int = 0, id: String = TraceIds.spanId()
    ) {
        self.name = Self.serviceName(service)
        self.operation = operation
        self.region = region
        self.tableName = tableName
        self.start = start
        self.end = end
        self.status = status
        self.throttled = throttled
        self.retries = retries
        self.id = id
    }

    /// SigV4 service names → X-Ray's (the AWS SDKs' service names).
    static func serviceName(_ service: String) -> String {
        switch service {
        case "dynamodb": "DynamoDB"
        case "s3": "S3"
        case "cognito-idp": "CognitoIdentityProvider"
        case "secretsmanager": "SecretsManager"
        case "events": "EventBridge"
        case "ses", "email": "SES"
        case "sqs": "SQS"
        default: service
        }
    }

    public func document(traceId: String, parentId: String) -> String {
        var aws: [String: TelemetryJSON] = ["operation": .string(operation), "region": .string(region)]
        if let tableName { aws["table_name"] = .string(tableName) }
        if retries > 0 { aws["retries"] = .number(Double(retries)) }
        var fields: [String: TelemetryJSON] = [
            "name": .string(name), "id": .string(id), "trace_id": .string(traceId), "parent_id": .string(parentId),
            "type": .string("subsegment"), "namespace": .string("aws"),
            "start_time": .seconds(start.timeIntervalSince1970), "end_time": .seconds(end.timeIntervalSince1970),
            "aws": .object(aws),
        ]
        if let status { fields["http"] = .object(["response": .object(["status": .number(Double(status))])]) }
        // X-Ray's flags: error for 4xx, throttle (with error) for 429/throttling, fault for 5xx and no answer at all.
        switch status {
        case .some(400..<500):
            fields["error"] = .bool(true)
            if throttled || status == 429 { fields["throttle"] = .bool(true) }
        case .some(200..<400):
            break
        default:
            fields["fault"] = .bool(true)
        }
        return TelemetryJSON.object(fields).rendered()
    }
}

/// Sends segment documents to the X-Ray daemon over UDP: `{"format":"json","version":1}\n` and the document, one
/// datagram each. A send that fails is dropped (the daemon is best effort, and so is this).
public final class XRayEmitter: Sendable {
    let socket: Int32
    let address: sockaddr_in

    /// `AWS_XRAY_DAEMON_ADDRESS`: `127.0.0.1:2000`, or `tcp:127.0.0.1:2000 udp:127.0.0.1:2000` (the UDP one is used).
    /// IPv4 only; nil (with nothing opened) for a value this cannot use.
    public init?(daemonAddress: String) {
        var hostPort = trimmed(daemonAddress)
        if hostPort.contains(" ") || hostPort.hasPrefix("udp:") || hostPort.hasPrefix("tcp:") {
            guard let udp = hostPort.split(separator: " ").first(where: { $0.hasPrefix("udp:") }) else { return nil }
            hostPort = String(udp.dropFirst(4))
        }
        guard let colon = hostPort.lastIndex(of: ":"), let port = UInt16(hostPort[hostPort.index(after: colon)...]) else { return nil }
        var host = String(hostPort[..<colon])
        if host == "localhost" { host = "127.0.0.1" }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        #if canImport(Darwin)
        let fd = Darwin.socket(AF_INET, SOCK_DGRAM, 0)
        #else
        let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #endif
        guard fd >= 0 else { return nil }
        self.socket = fd
        self.address = address
    }

    deinit { close(socket) }

    static let header = #"{"format":"json","version":1}"# + "\n"

    public func send(_ document: String) {
        var datagram = Array((Self.header + document).utf8)
        var target = address
        _ = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                sendto(socket, &datagram, datagram.count, 0, sockaddrPointer, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}

func trimmed(_ text: String) -> String {
    String(text.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
}
