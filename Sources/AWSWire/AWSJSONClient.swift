import AsyncHTTPClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOHTTP1

/// JSON 1.0 (DynamoDB) / JSON 1.1 (Cognito IDP) protocol client. One per service per process, reusing one HTTPClient.
public struct AWSJSONClient: Sendable {
    public let httpClient: HTTPClient
    public let endpoint: String
    public let region: String
    public let service: String
    public let targetPrefix: String
    public let jsonVersion: String
    public let signer: SigV4Signer
    public let retry: RetryPolicy
    public let timeout: Duration
    public let logger: Logger
    /// The largest response body accepted; DynamoDB's largest answers (1 MB pages) fit well inside.
    public var maxResponseBytes = 16 * 1024 * 1024

    let requestURL: String
    let hostHeader: String

    public init(httpClient: HTTPClient, endpoint: String, region: String, service: String, targetPrefix: String, jsonVersion: String, credentials: AWSCredentials, retry: RetryPolicy = .default, timeout: Duration = .seconds(10), logger: Logger = Logger(label: "aws")) {
        self.httpClient = httpClient
        self.endpoint = endpoint
        self.region = region
        self.service = service
        self.targetPrefix = targetPrefix
        self.jsonVersion = jsonVersion
        self.signer = SigV4Signer(credentials: credentials, region: region, service: service)
        self.retry = retry
        self.timeout = timeout
        self.logger = logger
        let parts = AWSURI.Parts(endpoint)
        self.requestURL = parts.path.isEmpty ? endpoint + "/" : endpoint
        self.hostHeader = parts.hostHeader
    }

    /// A DynamoDB client (JSON 1.0, target prefix `DynamoDB_20120810`); `endpoint` nil means AWS's endpoint for the region.
    public static func dynamoDB(httpClient: HTTPClient, region: String, credentials: AWSCredentials, endpoint: String? = nil, retry: RetryPolicy = .default, timeout: Duration = .seconds(10), logger: Logger = Logger(label: "aws.dynamodb")) -> AWSJSONClient {
        AWSJSONClient(httpClient: httpClient, endpoint: AWSEndpoint.resolve(service: "dynamodb", region: region, override: endpoint), region: region, service: "dynamodb", targetPrefix: "DynamoDB_20120810", jsonVersion: "1.0", credentials: credentials, retry: retry, timeout: timeout, logger: logger)
    }

    /// A Cognito user pools client (JSON 1.1, target prefix `AWSCognitoIdentityProviderService`).
    public static func cognitoIdentityProvider(httpClient: HTTPClient, region: String, credentials: AWSCredentials, endpoint: String? = nil, retry: RetryPolicy = .default, timeout: Duration = .seconds(10), logger: Logger = Logger(label: "aws.cognito-idp")) -> AWSJSONClient {
        AWSJSONClient(httpClient: httpClient, endpoint: AWSEndpoint.resolve(service: "cognito-idp", region: region, override: endpoint), region: region, service: "cognito-idp", targetPrefix: "AWSCognitoIdentityProviderService", jsonVersion: "1.1", credentials: credentials, retry: retry, timeout: timeout, logger: logger)
    }

    /// An HTTPClient for AWS calls, with a connect timeout (the per-request timeout is each client's `timeout`).
    /// Make one per process and shut it down when the process ends.
    public static func makeHTTPClient(connectTimeout: Duration = .seconds(3), readTimeout: Duration = .seconds(30)) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: timeAmount(connectTimeout), read: timeAmount(readTimeout))
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// POST with X-Amz-Target: "<targetPrefix>.<operation>", Content-Type application/x-amz-json-<jsonVersion>, signed. Returns the response body on 2xx; throws AWSError otherwise (after retries for retryable errors).
    ///
    /// Each attempt is signed afresh. Task cancellation ends the call at once with CancellationError.
    /// A transport error (refused connection, timeout) is retried too, and one that struck after the request
    /// went out may hide an applied write: writes must be safe to repeat (a condition expression, or
    /// TransactWriteItems' ClientRequestToken), as they must be with any AWS SDK.
    public func call(_ operation: String, body: [UInt8]) async throws -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            let failure: AWSError
            do {
                let (status, headers, responseBody) = try await send(operation, body: body)
                if (200..<300).contains(status) { return responseBody }
                failure = AWSError.decode(statusCode: status, headers: headers, body: responseBody)
            } catch let error as CancellationError {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failure = AWSError(type: AWSError.transportErrorType, message: String(describing: error), statusCode: 0)
            }
            guard failure.isRetryable, attempt < retry.maxAttempts else {
                if failure.isRetryable {
                    logger.warning("AWS call failed after \(attempt) attempts", metadata: ["operation": "\(operation)", "error": "\(failure.type)"])
                }
                throw failure
            }
            let delay = retry.delay(beforeRetry: attempt, using: &generator)
            logger.debug("retrying AWS call", metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "error": "\(failure.type)", "delay": "\(delay)"])
            try await Task.sleep(for: delay)
        }
    }

    /// Encodes `input` as JSON, calls `operation` and decodes the answer as `Output` (an empty body decodes as `{}`).
    public func call<Input: Encodable, Output: Decodable>(_ operation: String, _ input: Input, as: Output.Type) async throws -> Output {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let response = try await call(operation, body: Array(try encoder.encode(input)))
        return try JSONDecoder().decode(Output.self, from: response.isEmpty ? Data("{}".utf8) : Data(response))
    }

    func send(_ operation: String, body: [UInt8]) async throws -> (Int, [(String, String)], [UInt8]) {
        var headers: [(String, String)] = [
            ("Host", hostHeader),
            ("Content-Type", "application/x-amz-json-\(jsonVersion)"),
            ("X-Amz-Target", "\(targetPrefix).\(operation)"),
        ]
        headers += signer.signedHeaders(method: "POST", url: requestURL, headers: headers, body: body, date: Date())
        headers.append(("User-Agent", "ServerlessShop-AWSWire/1"))

        var request = HTTPClientRequest(url: requestURL)
        request.method = .POST
        request.headers = HTTPHeaders(headers)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await httpClient.execute(request, timeout: Self.timeAmount(timeout), logger: logger)
        let buffer = try await response.body.collect(upTo: maxResponseBytes)
        return (Int(response.status.code), response.headers.map { ($0.name, $0.value) }, Array(buffer.readableBytesView))
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(RetryPolicy.nanoseconds(duration)))
    }
}
