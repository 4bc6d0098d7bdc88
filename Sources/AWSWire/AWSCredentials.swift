/// An access key pair, with the session token that temporary credentials (Lambda, STS) carry.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; throws AWSConfigurationError naming the missing variable.
    public static func fromEnvironment(_ environment: [String: String]) throws -> AWSCredentials {
        let accessKeyId = try required("AWS_ACCESS_KEY_ID", in: environment)
        let secretAccessKey = try required("AWS_SECRET_ACCESS_KEY", in: environment)
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: token)
    }

    /// Never shows the secret or the token, so credentials can be logged by accident without harm.
    public var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"))"
    }

    static func required(_ name: String, in environment: [String: String]) throws -> String {
        guard let value = environment[name], !value.isEmpty else {
            throw AWSConfigurationError(
                description:
                    "\(name) is not set: AWS credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (for temporary credentials) AWS_SESSION_TOKEN"
            )
        }
        return value
    }
}

/// A missing or invalid AWS setting (credentials, region, endpoint).
public struct AWSConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// Where a service's API is: AWS's public endpoint for the region, or an override (moto, DynamoDB Local).
public enum AWSEndpoint {
    /// Default endpoint for a service, overridable: e.g. `AWSEndpoint.resolve(service: "dynamodb", region: region, override: env["SHOP_DYNAMODB_ENDPOINT"])`.
    /// An empty override counts as none; a trailing slash is dropped.
    public static func resolve(service: String, region: String, override: String? = nil) -> String {
        if let override, !override.isEmpty {
            var value = override
            while value.hasSuffix("/") { value.removeLast() }
            return value
        }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return "https://\(service).\(region).\(suffix)"
    }
}
