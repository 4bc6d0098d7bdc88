import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import ShopSupport
import ShopTelemetry

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// errno values of refused and unreachable connections.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a request may be sent again after an answer that leaves its fate unknown.
public enum RetrySafety: Sendable, Equatable {
    /// A read, or a write that cannot apply twice: it carries a token the service deduplicates
    /// (`TransactWriteItems`' `ClientRequestToken`), or a condition that makes a replay fail in a
    /// way the caller recognises. Retried after throttling, a 5xx or any transport error.
    case idempotent
    /// A write that could apply twice (Cognito's `SignUp` has no token). Retried only when the
    /// service certainly did not act on it: a throttling answer, or a connection that was never made.
    /// A lost answer or a 5xx is reported at once (`AWSError.outcomeUnknown`), for the caller to
    /// answer "try again" rather than guess.
    case notAfterSend
}

/// One request to an AWS service, before signing.
public struct AWSRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// S3 wants `x-amz-content-sha256` signed; the JSON services do not.
    public var includeContentSHA256: Bool

    public init(method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8] = [], includeContentSHA256: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.includeContentSHA256 = includeContentSHA256
    }
}

/// A service's answer.
public struct AWSResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// The one signed send layer under every AWS protocol (the JSON clients of DynamoDB and Cognito,
/// S3's REST calls): SigV4 signing with an injected clock, a timeout per attempt, retries with
/// jittered backoff that respect each request's `RetrySafety`, and error decoding.
public struct AWSSender: Sendable {
    public let httpClient: HTTPClient
    public let signer: SigV4Signer
    public let retry: RetryPolicy
    public let timeout: Duration
    public let clock: WallClock
    public let logger: Logger
    /// The largest response body accepted; DynamoDB's largest answers (1 MB pages) fit well inside.
    public var maxResponseBytes = 16 * 1024 * 1024

    public init(
        httpClient: HTTPClient, region: String, service: String, credentials: AWSCredentials, retry: RetryPolicy = .default,
        timeout: Duration = .seconds(10), clock: WallClock = .system, logger: Logger = Logger(label: "aws")
    ) {
        self.httpClient = httpClient
        self.signer = SigV4Signer(credentials: credentials, region: region, service: service)
        self.retry = retry
        self.timeout = timeout
        self.clock = clock
        self.logger = logger
    }

    /// Sends `request` until it is answered with a status `accepts` (2xx by default), retrying what
    /// `safety` allows. Any other answer is decoded by `decodeError` and thrown as `AWSError`.
    /// Each attempt is signed afresh. Task cancellation ends the call at once with CancellationError.
    public func send(
        _ request: AWSRequest, safety: RetrySafety, operation: String,
        accepts: (Int) -> Bool = { (200..<300).contains($0) },
        decodeError: (AWSResponse) -> AWSError = { AWSError.decode(statusCode: $0.status, headers: $0.headers, body: $0.body) }
    ) async throws -> AWSResponse {
        let started = ContinuousClock.now
        let startedAt = XRayTrace.current == nil ? nil : clock.now()
        var lastStatus: Int?
        var attempt = 0
        do {
            let response = try await sendWithRetries(
                request, safety: safety, operation: operation, accepts: accepts, decodeError: decodeError, attempt: &attempt,
                lastStatus: &lastStatus)
            observe(
                request, operation: operation, outcome: "ok", started: started, startedAt: startedAt, status: response.status,
                attempts: attempt)
            return response
        } catch let error as AWSError {
            observe(
                request, operation: operation, outcome: Self.outcome(error), started: started, startedAt: startedAt,
                status: error.statusCode == 0 ? nil : error.statusCode, attempts: attempt)
            throw error
        } catch {
            observe(
                request, operation: operation, outcome: "error", started: started, startedAt: startedAt, status: lastStatus,
                attempts: attempt)
            throw error
        }
    }

    /// `ok`, `throttled`, `conditional_failed` (a condition, or a transaction cancelled by one) or `error`.
    static func outcome(_ error: AWSError) -> String {
        if AWSErrorCode.throttling.contains(error.code) { return "throttled" }
        if error.code == .conditionalCheckFailed { return "conditional_failed" }
        if error.code == .transactionCanceled, let reasons = error.cancellationReasons {
            if reasons.contains(where: { $0.reason == .conditionFailed }) { return "conditional_failed" }
            if reasons.contains(where: { [.throttlingError, .provisionedThroughputExceededReason].contains($0.reason) }) {
                return "throttled"
            }
        }
        return "error"
    }

    /// The call's metrics, and its X-Ray subsegment when the invocation is traced.
    func observe(
        _ request: AWSRequest, operation: String, outcome: String, started: ContinuousClock.Instant, startedAt: Date?, status: Int?,
        attempts: Int
    ) {
        ShopMetrics.awsCall(service: signer.service, operation: operation, outcome: outcome, duration: ContinuousClock.now - started)
        if let trace = XRayTrace.current, let startedAt {
            trace.record(
                XRaySubsegment(
                    service: signer.service, operation: operation, region: signer.region,
                    tableName: signer.service == "dynamodb" ? Self.tableName(request.body) : nil, start: startedAt, end: clock.now(),
                    status: status,
                    throttled: outcome == "throttled", retries: max(0, attempts - 1)))
        }
    }

    /// The table of a DynamoDB request body: its first `"TableName":"…"` (a transaction's first item's), or the first
    /// table of a batch's `"RequestItems":{"…"`. Scanned, not decoded: only traced calls pay for it.
    static func tableName(_ body: [UInt8]) -> String? {
        stringAfter(#""TableName":""#, in: body) ?? stringAfter(#""RequestItems":{""#, in: body)
    }

    static func stringAfter(_ prefix: String, in body: [UInt8]) -> String? {
        let key = Array(prefix.utf8)
        guard body.count > key.count else { return nil }
        var index = 0
        while index + key.count <= body.count {
            if body[index] == key[0], body[index..<(index + key.count)].elementsEqual(key) {
                let start = index + key.count
                guard let end = body[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return String(decoding: body[start..<end], as: UTF8.self)
            }
            index += 1
        }
        return nil
    }

    func sendWithRetries(
        _ request: AWSRequest, safety: RetrySafety, operation: String, accepts: (Int) -> Bool, decodeError: (AWSResponse) -> AWSError,
        attempt: inout Int, lastStatus: inout Int?
    ) async throws -> AWSResponse {
        var generator = SystemRandomNumberGenerator()
        while true {
            attempt += 1
            try Task.checkCancellation()
            var failure: AWSError
            do {
                let response = try await sendOnce(request)
                lastStatus = response.status
                if accepts(response.status) { return response }
                failure = decodeError(response)
            } catch let error as CancellationError {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failure = AWSError(
                    type: Self.neverSent(error) ? AWSErrorCode.connectionFailed.rawValue : AWSErrorCode.transportError.rawValue,
                    message: String(describing: error), statusCode: 0)
            }
            let mayRetry = failure.isRetryable && (safety == .idempotent || failure.certainlyNotApplied)
            guard mayRetry, attempt < retry.maxAttempts else {
                if failure.isRetryable && !failure.certainlyNotApplied && safety == .notAfterSend {
                    logger.warning(
                        "AWS write's outcome unknown; not repeated", metadata: ["operation": "\(operation)", "error": "\(failure.type)"])
                    failure.outcomeUnknown = true
                } else if failure.isRetryable {
                    logger.warning(
                        "AWS call failed after \(attempt) attempts", metadata: ["operation": "\(operation)", "error": "\(failure.type)"])
                }
                throw failure
            }
            let delay = retry.delay(beforeRetry: attempt, using: &generator)
            logger.debug(
                "retrying AWS call",
                metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "error": "\(failure.type)", "delay": "\(delay)"])
            try await Task.sleep(for: delay)
        }
    }

    func sendOnce(_ request: AWSRequest) async throws -> AWSResponse {
        var headers = request.headers
        headers += signer.signedHeaders(
            method: request.method.rawValue, url: request.url, headers: request.headers, body: request.body, date: clock.now(),
            includeContentSHA256: request.includeContentSHA256)
        headers.append(("User-Agent", "ServerlessShop-AWSWire/1"))
        var http = HTTPClientRequest(url: request.url)
        http.method = request.method
        http.headers = HTTPHeaders(headers)
        if !request.body.isEmpty || request.method == .POST || request.method == .PUT {
            http.body = .bytes(ByteBuffer(bytes: request.body))
        }
        let response = try await httpClient.execute(http, timeout: Self.timeAmount(timeout), logger: logger)
        // HEAD answers announce a length but carry no body.
        let buffer = request.method == .HEAD ? ByteBuffer() : try await response.body.collect(upTo: maxResponseBytes)
        return AWSResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer.readableBytesView))
    }

    /// True for failures that happen before a request can have left this process: the connection
    /// was refused or never completed.
    static func neverSent(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        if let error = error as? IOError, [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode) { return true }
        // NIOPosix's NIOConnectionError (all connection attempts failed), named without importing NIOPosix.
        return String(describing: type(of: error)) == "NIOConnectionError"
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(RetryPolicy.nanoseconds(duration)))
    }

    /// An HTTPClient for AWS calls, with a connect timeout (the per-request timeout is each client's `timeout`).
    /// Make one per process and shut it down when the process ends.
    public static func makeHTTPClient(connectTimeout: Duration = .seconds(3), readTimeout: Duration = .seconds(30)) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: timeAmount(connectTimeout), read: timeAmount(readTimeout))
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

/// The retry policy type lives in ShopSupport, shared with the payment gateway's client.
public typealias RetryPolicy = ShopSupport.RetryPolicy
