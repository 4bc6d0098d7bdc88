import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
        /// `code` typed; `.none` for an item that did not fail.
        public var reason: AWSErrorCode { AWSErrorCode(rawValue: code ?? "None") }
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

        enum CodingKeys: String, CodingKey {
            case code = "Code"
            case message = "Message"
            case item = "Item"
        }
    }

    public init(type: String, message: String, statusCode: Int, body: [UInt8] = [], cancellationReasons: [CancellationReason]? = nil) {
        self.type = type
        self.message = message
        self.statusCode = statusCode
        self.body = body
        self.cancellationReasons = cancellationReasons
    }

    /// The error code, typed: compare with `AWSErrorCode`'s members instead of strings.
    public var code: AWSErrorCode { AWSErrorCode(rawValue: type) }

    /// Set when a write that is not safe to repeat failed in a way that leaves its outcome unknown
    /// (no answer, or a 5xx): it may have been applied. Callers answer "try again", never a guess.
    public var outcomeUnknown = false

    /// Throttling, 5xx and transport failures; whether a retry is allowed also depends on the request.
    public var isRetryable: Bool {
        AWSErrorCode.throttling.contains(code) || AWSErrorCode.transient.contains(code) || [500, 502, 503, 504].contains(statusCode)
            || code == .transportError || code == .connectionFailed
    }

    /// The service refused the request before acting on it (throttling), or it never reached the service.
    public var certainlyNotApplied: Bool {
        AWSErrorCode.throttling.contains(code) || code == .connectionFailed
    }

    public var description: String {
        (statusCode == 0 ? "\(type): \(message)" : "\(type) (HTTP \(statusCode)): \(message)")
            + (outcomeUnknown ? " (outcome unknown)" : "")
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
        let message =
            envelope?.message ?? envelope?.Message ?? envelope?.errorMessage
            ?? HTTPStatusText.reason(statusCode)
        var reasons: [CancellationReason]?
        if code == AWSErrorCode.transactionCanceled.rawValue {
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

        enum CodingKeys: String, CodingKey {
            case type = "__type"
            case message, Message, errorMessage, CancellationReasons
        }
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

/// AWS error codes, typed, in the manner of soto-core's `ServerErrors.swift`: the codes this project
/// acts on are static members, any other code is still representable.
public struct AWSErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    // No answer at all.
    /// The request may have reached the service (a timeout, a dropped connection).
    public static let transportError = Self(rawValue: "TransportError")
    /// The connection was never made, so the request never left.
    public static let connectionFailed = Self(rawValue: "ConnectionFailed")

    // DynamoDB
    public static let conditionalCheckFailed = Self(rawValue: "ConditionalCheckFailedException")
    public static let transactionCanceled = Self(rawValue: "TransactionCanceledException")
    public static let transactionConflict = Self(rawValue: "TransactionConflict")
    public static let transactionInProgress = Self(rawValue: "TransactionInProgressException")
    public static let idempotentParameterMismatch = Self(rawValue: "IdempotentParameterMismatchException")
    public static let resourceInUse = Self(rawValue: "ResourceInUseException")
    public static let resourceNotFound = Self(rawValue: "ResourceNotFoundException")
    public static let provisionedThroughputExceeded = Self(rawValue: "ProvisionedThroughputExceededException")
    public static let requestLimitExceeded = Self(rawValue: "RequestLimitExceeded")
    /// A cancellation reason of an item that did not fail.
    public static let none = Self(rawValue: "None")
    /// A cancellation reason: the item's condition expression was false.
    public static let conditionFailed = Self(rawValue: "ConditionalCheckFailed")
    /// Cancellation reasons: the item's partition was throttled; nothing was applied.
    public static let throttlingError = Self(rawValue: "ThrottlingError")
    public static let provisionedThroughputExceededReason = Self(rawValue: "ProvisionedThroughputExceeded")

    // Cognito
    public static let usernameExists = Self(rawValue: "UsernameExistsException")
    public static let aliasExists = Self(rawValue: "AliasExistsException")
    public static let invalidPassword = Self(rawValue: "InvalidPasswordException")
    public static let invalidParameter = Self(rawValue: "InvalidParameterException")
    public static let notAuthorized = Self(rawValue: "NotAuthorizedException")
    public static let userNotFound = Self(rawValue: "UserNotFoundException")
    public static let userNotConfirmed = Self(rawValue: "UserNotConfirmedException")
    public static let codeMismatch = Self(rawValue: "CodeMismatchException")
    public static let expiredCode = Self(rawValue: "ExpiredCodeException")
    public static let tooManyFailedAttempts = Self(rawValue: "TooManyFailedAttemptsException")
    public static let groupExists = Self(rawValue: "GroupExistsException")
    public static let unsupportedTokenType = Self(rawValue: "UnsupportedTokenTypeException")

    // Everyone
    public static let throttlingException = Self(rawValue: "ThrottlingException")
    public static let internalServerError = Self(rawValue: "InternalServerError")

    /// botocore's throttling codes (standard retry mode), less LimitExceededException, which Cognito
    /// also uses for quotas that waiting a second does not lift. The service refused before acting.
    public static let throttling: Set<Self> = Set(
        [
            "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "ThrottledException",
            "RequestThrottledException", "RequestThrottled", "TooManyRequestsException", "RequestLimitExceeded",
            "BandwidthLimitExceeded", "SlowDown", "PriorRequestNotComplete",
        ].map(Self.init(rawValue:)))

    /// botocore's transient codes: the service may or may not have acted.
    public static let transient: Set<Self> = Set(
        [
            "TransactionInProgressException", "RequestTimeout", "RequestTimeoutException", "InternalServerError", "InternalFailure",
            "ServiceUnavailable",
        ].map(Self.init(rawValue:)))
}
