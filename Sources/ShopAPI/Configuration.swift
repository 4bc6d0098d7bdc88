#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one configuration type: environment variables, overridden by `shop` flags.
/// Every variable is listed, with its default, in the README.
public struct ShopConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./data"
    public var orderTTLSeconds = 900
    public var seedDemoCatalog = true
    /// `iss` of local tokens; defaults to the server's own base URL.
    public var tokenIssuer: String?
    public var clientId = "serverlessshop-local"
    public var tokenTTLSeconds = 3600
    public var bcryptCost = 12
    public var sweepIntervalSeconds = 30
    public var logLevel = "info"
    /// Where products, orders and local users live: `sqlite` (embedded) or `dynamodb`.
    public var store: StoreBackend = .sqlite
    /// `AWS_REGION`, for the AWS backends.
    public var awsRegion = "us-east-1"
    /// `SHOP_DYNAMODB_ENDPOINT`: overrides DynamoDB's regional endpoint (moto, DynamoDB Local).
    public var dynamoDBEndpoint: String?

    /// Where product images live: `local` (files under the data directory) or `s3`.
    public var images: ImageBackend = .local
    /// `SHOP_S3_BUCKET`: the images bucket when `images` is `s3`.
    public var s3Bucket: String?
    /// `SHOP_S3_ENDPOINT`: overrides S3's endpoint (moto); path-style URLs then.
    public var s3Endpoint: String?
    /// `SHOP_IMAGE_BASE_URL`: where shoppers load S3 images from (e.g. a CloudFront domain).
    public var imageBaseURL: String?

    /// Who signs users in: `local` (bcrypt + RS256 tokens) or `cognito`.
    public var identity: IdentityBackend = .local
    /// `SHOP_COGNITO_USER_POOL_ID` and `SHOP_COGNITO_CLIENT_ID` (an app client without a secret).
    public var cognitoUserPoolId: String?
    public var cognitoClientId: String?
    /// `SHOP_COGNITO_ENDPOINT`: overrides the Cognito IDP endpoint (moto).
    public var cognitoEndpoint: String?
    /// `SHOP_COGNITO_JWKS_URL`: where the pool's keys are; defaults to the issuer's
    /// `/.well-known/jwks.json`. Separate from the issuer because moto serves it elsewhere.
    public var cognitoJWKSURL: String?

    /// `SHOP_TRUST_AUTHORIZER_CLAIMS`: in the Lambda functions, take the caller from the claims
    /// API Gateway's JWT authorizer verified instead of verifying the bearer token again. Off by
    /// default; turn it on only where the authorizer is attached (the SAM template does that).
    public var trustAuthorizerClaims = false

    /// The identity providers `SHOP_IDENTITY` selects.
    public enum IdentityBackend: String, Sendable, Equatable {
        case local, cognito
    }

    /// The image stores `SHOP_IMAGES` selects.
    public enum ImageBackend: String, Sendable, Equatable {
        case local, s3
    }

    /// The storage backends `SHOP_STORE` selects.
    public enum StoreBackend: String, Sendable, Equatable {
        case sqlite, dynamodb
    }

    public init() {}

    /// A setting that could not be read, named with its variable.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Reads the `SHOP_*` variables from `environment`.
    public init(environment: [String: String]) throws {
        func int(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            guard let value = Int(raw), range ~= value else {
                throw Invalid(description: "\(name)=\(raw) is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        func string(_ name: String) -> String? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            return raw
        }
        if let v = string("SHOP_HOST") { host = v }
        if let v = try int("SHOP_PORT", 0...65535) { port = v }
        if let v = string("SHOP_DATA_DIR") { dataDirectory = v }
        if let v = try int("SHOP_ORDER_TTL_SECONDS", 1...(30 * 24 * 3600)) { orderTTLSeconds = v }
        func bool(_ name: String) throws -> Bool? {
            guard let raw = string(name) else { return nil }
            switch raw.lowercased() {
            case "1", "true", "yes": return true
            case "0", "false", "no": return false
            default: throw Invalid(description: "\(name)=\(raw) must be true or false")
            }
        }
        if let v = try bool("SHOP_SEED") { seedDemoCatalog = v }
        if let v = try bool("SHOP_TRUST_AUTHORIZER_CLAIMS") { trustAuthorizerClaims = v }
        tokenIssuer = string("SHOP_TOKEN_ISSUER")
        if let v = string("SHOP_CLIENT_ID") { clientId = v }
        if let v = try int("SHOP_TOKEN_TTL_SECONDS", 60...86_400) { tokenTTLSeconds = v }
        if let v = try int("SHOP_BCRYPT_COST", 4...31) { bcryptCost = v }
        if let v = try int("SHOP_SWEEP_INTERVAL_SECONDS", 1...86_400) { sweepIntervalSeconds = v }
        if let v = string("SHOP_LOG_LEVEL") { logLevel = v }
        if let raw = string("SHOP_STORE") {
            guard let backend = StoreBackend(rawValue: raw.lowercased()) else {
                throw Invalid(description: "SHOP_STORE=\(raw) must be sqlite or dynamodb")
            }
            store = backend
        }
        if let v = string("AWS_REGION") { awsRegion = v }
        dynamoDBEndpoint = string("SHOP_DYNAMODB_ENDPOINT")
        if let raw = string("SHOP_IMAGES") {
            guard let backend = ImageBackend(rawValue: raw.lowercased()) else {
                throw Invalid(description: "SHOP_IMAGES=\(raw) must be local or s3")
            }
            images = backend
        }
        s3Bucket = string("SHOP_S3_BUCKET")
        s3Endpoint = string("SHOP_S3_ENDPOINT")
        imageBaseURL = string("SHOP_IMAGE_BASE_URL")
        if let raw = string("SHOP_IDENTITY") {
            guard let backend = IdentityBackend(rawValue: raw.lowercased()) else {
                throw Invalid(description: "SHOP_IDENTITY=\(raw) must be local or cognito")
            }
            identity = backend
        }
        cognitoUserPoolId = string("SHOP_COGNITO_USER_POOL_ID")
        cognitoClientId = string("SHOP_COGNITO_CLIENT_ID")
        cognitoEndpoint = string("SHOP_COGNITO_ENDPOINT")
        cognitoJWKSURL = string("SHOP_COGNITO_JWKS_URL")
        if identity == .cognito && (cognitoUserPoolId == nil || cognitoClientId == nil) {
            throw Invalid(description: "SHOP_IDENTITY=cognito needs SHOP_COGNITO_USER_POOL_ID and SHOP_COGNITO_CLIENT_ID")
        }
        if images == .s3 && s3Bucket == nil {
            throw Invalid(description: "SHOP_IMAGES=s3 needs SHOP_S3_BUCKET")
        }
    }

    /// The issuer tokens must carry: the Cognito pool's, or the local issuer's.
    public var effectiveIssuer: String {
        if identity == .cognito, let pool = cognitoUserPoolId {
            return "https://cognito-idp.\(awsRegion).amazonaws.com/\(pool)"
        }
        return tokenIssuer ?? "http://\(host):\(port)"
    }
}
