#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ShopSupport

/// An error answer from an AWS JSON-protocol service (or a transport failure on the way to it).
public struct AWSError: Error, Sendable, CustomStringConvertible {
    /// The error code: the part of `__type` after `#` ("ConditionalCheckFailedException"), else the
    /// `x-amzn-ErrorType` header, else the HTTP status code as text (botocore's fallback);
    /// `"TransportError"` when no answer came back at all.
    public var type: String
    public var message: String
    /// The HTTP status; 0 for a transport error.
    public var statusCode: Int
    /// Raw response body, e.g. for TransactionCanceledException's CancellationReasons.
    public var body: [UInt8]
    /// Decoded for TransactionCanceledException; nil for other errors.
    public var cancellationReasons: [CancellationReason]?

    /// One entry per item of a cancelled transaction, in request order; `code` is "None" for items that did not fail.
    public struct CancellationReason: Sendable, Decodable, Equatable {
        public var code: String?
        public var message: String?
        /// The item's current attributes (DynamoDB AttributeValue JSON, e.g. `{"Quantity": {"N": "3"}}`), present when the
        /// request asked for `ReturnValuesOnConditionCheckFailure: ALL_OLD`. Kept as JSON so this layer needs no DynamoDB types.
        public var item: [String: JSONValue]?

        /// `item` as JSON bytes (keys sorted), to decode into a typed AttributeValue map with JSONDecoder.
        public var itemJSON: [UInt8]? {
            guard let item else { return nil }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(item)).map { Array($0) }
        }

        public init(code: String?, message: String?, item: [String: JSONValue]? = nil) {
            self.code = code
            self.message = message
            self.item = item
        }

        enum CodingKeys: String, CodingKey { case code = "Code", message = "Message", item = "Item" }
    }

    public init(type: String, message: String, statusCode: Int, body: [UInt8] = [], cancellationReasons: [CancellationReason]? = nil) {
        self.type = type
        self.message = message
        self.statusCode = statusCode
        self.body = body
        self.cancellationReasons = cancellationReasons
    }

    /// ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded, InternalServerError, HTTP 500/502/503/504, transport errors.
    public var isRetryable: Bool {
        Self.retryableTypes.contains(type) || [500, 502, 503, 504].contains(statusCode) || type == Self.transportErrorType
    }

    /// botocore's throttling and transient error codes (standard retry mode), less LimitExceededException,
    /// which Cognito also uses for quotas that waiting a second does not lift.
    static let retryableTypes: Set<String> = [
        "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "ThrottledException",
        "RequestThrottledException", "RequestThrottled", "TooManyRequestsException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "SlowDown", "TransactionInProgressException", "PriorRequestNotComplete",
        "RequestTimeout", "RequestTimeoutException", "InternalServerError", "InternalFailure", "ServiceUnavailable",
    ]

    static let transportErrorType = "TransportError"

    public var description: String {
        statusCode == 0 ? "\(type): \(message)" : "\(type) (HTTP \(statusCode)): \(message)"
    }

    /// Decodes a JSON-protocol error answer: `__type` (with or without the `namespace#` prefix) or the
    /// `x-amzn-ErrorType` header, and `message` or `Message`.
    public static func decode(statusCode: Int, headers: [(String, String)], body: [UInt8]) -> AWSError {
        let envelope = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(body))
        var type = envelope?.type
        if type == nil || type!.isEmpty {
            type = headers.first { $0.0.lowercased() == "x-amzn-errortype" }?.1
        }
        let code = normalizeType(type) ?? String(statusCode)
        let message = envelope?.message ?? envelope?.Message ?? envelope?.errorMessage
            ?? HTTPStatusText.reason(statusCode)
        var reasons: [CancellationReason]?
        if code == "TransactionCanceledException" {
            reasons = envelope?.CancellationReasons ?? []
        }
        return AWSError(type: code, message: message, statusCode: statusCode, body: body, cancellationReasons: reasons)
    }

    /// "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException" and "ValidationException:http://internal..." both become the bare code.
    static func normalizeType(_ raw: String?) -> String? {
        guard var value = raw?.trimmingWhitespace(), !value.isEmpty else { return nil }
        if let colon = value.firstIndex(of: ":") { value = String(value[..<colon]) }
        if let hash = value.lastIndex(of: "#") { value = String(value[value.index(after: hash)...]) }
        return value.isEmpty ? nil : value
    }

    struct ErrorEnvelope: Decodable {
        var type: String?
        var message: String?
        var Message: String?
        var errorMessage: String?
        var CancellationReasons: [CancellationReason]?

        enum CodingKeys: String, CodingKey { case type = "__type", message, Message, errorMessage, CancellationReasons }
    }
}

enum HTTPStatusText {
    static func reason(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 413: "Payload Too Large"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "HTTP \(status)"
        }
    }
}

/// Any JSON value; used where this layer passes service JSON through without a model of it.
public enum JSONValue: Sendable, Codable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// The name the interface sketch used for `JSONValue`.
public typealias JSONAny = JSONValue
