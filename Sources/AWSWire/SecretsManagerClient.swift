import AsyncHTTPClient
import Logging
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// AWS Secrets Manager (JSON 1.1, target prefix `secretsmanager`): the one call the functions make,
/// `GetSecretValue`, at init.
public struct SecretsManagerClient: Sendable {
    public let client: AWSJSONClient

    public init(client: AWSJSONClient) {
        self.client = client
    }

    /// `endpoint` nil means AWS's endpoint for the region (`secretsmanager.<region>.amazonaws.com`).
    public init(
        httpClient: HTTPClient, region: String, credentials: AWSCredentials, endpoint: String? = nil, retry: RetryPolicy = .default,
        timeout: Duration = .seconds(10), clock: WallClock = .system, logger: Logger = Logger(label: "aws.secretsmanager")
    ) {
        client = AWSJSONClient(
            client: AWSSender(
                httpClient: httpClient, region: region, service: "secretsmanager", credentials: credentials, retry: retry,
                timeout: timeout, clock: clock, logger: logger),
            endpoint: AWSEndpoint.resolve(service: "secretsmanager", region: region, override: endpoint),
            targetPrefix: "secretsmanager", jsonVersion: "1.1")
    }

    /// The current (`AWSCURRENT`) string value of the secret `id` (a name or an ARN). A read: retried
    /// after throttling, 5xx and transport errors. Throws `AWSError` (`ResourceNotFoundException`,
    /// `AccessDeniedException`, ...) or `SecretsManagerError.notAString` for a binary secret.
    public func secretString(id: String) async throws -> String {
        struct Input: Encodable { var SecretId: String }
        struct Output: Decodable {
            var SecretString: String?
            var ARN: String?
        }
        let output = try await client.call("GetSecretValue", Input(SecretId: id), as: Output.self)
        guard let value = output.SecretString else { throw SecretsManagerError.notAString(id: id) }
        return value
    }
}

public enum SecretsManagerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The secret holds binary data (`SecretBinary`), not a string.
    case notAString(id: String)

    public var description: String {
        switch self {
        case .notAString(let id): "secret \(id) has no SecretString (a binary secret?)"
        }
    }
}
