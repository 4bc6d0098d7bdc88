import AsyncHTTPClient
import Logging
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON 1.0 (DynamoDB) / JSON 1.1 (Cognito IDP) protocol client over the shared send layer.
/// One per service per process, reusing one HTTPClient.
public struct AWSJSONClient: Sendable {
    public let client: AWSSender
    public let endpoint: String
    public let targetPrefix: String
    public let jsonVersion: String

    let requestURL: String
    let hostHeader: String

    public init(client: AWSSender, endpoint: String, targetPrefix: String, jsonVersion: String) {
        self.client = client
        self.endpoint = endpoint
        self.targetPrefix = targetPrefix
        self.jsonVersion = jsonVersion
        let parts = AWSURI.Parts(endpoint)
        self.requestURL = parts.path.isEmpty ? endpoint + "/" : endpoint
        self.hostHeader = parts.hostHeader
    }

    /// A DynamoDB client (JSON 1.0, target prefix `DynamoDB_20120810`); `endpoint` nil means AWS's endpoint for the region.
    public static func dynamoDB(
        httpClient: HTTPClient, region: String, credentials: AWSCredentials, endpoint: String? = nil, retry: RetryPolicy = .default,
        timeout: Duration = .seconds(10), clock: WallClock = .system, logger: Logger = Logger(label: "aws.dynamodb")
    ) -> AWSJSONClient {
        AWSJSONClient(
            client: AWSSender(
                httpClient: httpClient, region: region, service: "dynamodb", credentials: credentials, retry: retry, timeout: timeout,
                clock: clock, logger: logger),
            endpoint: AWSEndpoint.resolve(service: "dynamodb", region: region, override: endpoint), targetPrefix: "DynamoDB_20120810",
            jsonVersion: "1.0")
    }

    /// A Cognito user pools client (JSON 1.1, target prefix `AWSCognitoIdentityProviderService`).
    public static func cognitoIdentityProvider(
        httpClient: HTTPClient, region: String, credentials: AWSCredentials, endpoint: String? = nil, retry: RetryPolicy = .default,
        timeout: Duration = .seconds(10), clock: WallClock = .system, logger: Logger = Logger(label: "aws.cognito-idp")
    ) -> AWSJSONClient {
        AWSJSONClient(
            client: AWSSender(
                httpClient: httpClient, region: region, service: "cognito-idp", credentials: credentials, retry: retry,
                timeout: timeout, clock: clock, logger: logger),
            endpoint: AWSEndpoint.resolve(service: "cognito-idp", region: region, override: endpoint),
            targetPrefix: "AWSCognitoIdentityProviderService", jsonVersion: "1.1")
    }

    /// POST with X-Amz-Target: "<targetPrefix>.<operation>", Content-Type application/x-amz-json-<jsonVersion>, signed.
    /// Returns the response body on 2xx; throws AWSError otherwise, after the retries `safety` allows.
    public func call(_ operation: String, body: [UInt8], safety: RetrySafety = .idempotent) async throws -> [UInt8] {
        let request = AWSRequest(
            method: .POST, url: requestURL,
            headers: [
                ("Host", hostHeader), ("Content-Type", "application/x-amz-json-\(jsonVersion)"),
                ("X-Amz-Target", "\(targetPrefix).\(operation)"),
            ],
            body: body)
        return try await client.send(request, safety: safety, operation: operation).body
    }

    /// Encodes `input` as JSON, calls `operation` and decodes the answer as `Output` (an empty body decodes as `{}`).
    public func call<Input: Encodable, Output: Decodable>(
        _ operation: String, _ input: Input, as: Output.Type, safety: RetrySafety = .idempotent
    ) async throws -> Output {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let response = try await call(operation, body: Array(try encoder.encode(input)), safety: safety)
        return try JSONDecoder().decode(Output.self, from: response.isEmpty ? Data("{}".utf8) : Data(response))
    }
}
