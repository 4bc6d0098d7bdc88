import Hummingbird
import Identity
import NIOCore
import ShopDomain

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the shop's middleware works out for a request, the same in every host.
public struct ShopRequestState: Sendable {
    /// The id echoed in `X-Request-Id` and every log line of the request.
    public var requestId = ""
    /// Claims an API Gateway JWT authorizer verified, when the host trusts them (`SHOP_TRUST_AUTHORIZER_CLAIMS`);
    /// nil means "verify the bearer token".
    public var authorizerClaims: [String: String]?
    /// Set by `Authentication` (in `RequestMiddleware`): the verified caller, if the request carried valid credentials.
    public var caller: VerifiedCaller?
    /// Set by `Authentication` (in `RequestMiddleware`) when credentials were sent but refused; thrown by `requireCaller()`.
    var refusal: APIError?
    /// The connection the request came on, where the host has one (`shop serve`).
    public var connection: (any Channel)?
    /// The socket peer's IP address, where the host knows it (`shop serve`); the rate limits key on it. Read when
    /// asked (only the sign-in routes do): formatting it cost every request a lock and a string.
    public var clientAddress: String? { connection?.remoteAddress?.ipAddress }

    public init(authorizerClaims: [String: String]? = nil) {
        self.authorizerClaims = authorizerClaims
    }
}

/// The request context of the shop's routes. A host's context type adds only how it is made from its
/// source (a channel for `shop serve`, an invocation for a Lambda function); everything else, JSON
/// coding and authentication included, is here.
public protocol ShopRequestContext: RequestContext where Decoder == ShopRequestDecoder, Encoder == ShopResponseEncoder {
    var shop: ShopRequestState { get set }
}

extension ShopRequestContext {
    public var requestDecoder: ShopRequestDecoder { ShopRequestDecoder() }
    public var responseEncoder: ShopResponseEncoder { ShopResponseEncoder() }

    /// Bodies are read by `ShopRequestDecoder`, which enforces the API's own 1 MiB limit.
    public var maxUploadSize: Int { 1 << 20 }

    public var requestId: String {
        get { shop.requestId }
        set { shop.requestId = newValue }
    }

    public var authorizerClaims: [String: String]? { shop.authorizerClaims }

    /// The verified caller, or nil for an anonymous request.
    public var caller: VerifiedCaller? { shop.caller }

    /// The caller, or 401: `unauthorized` without credentials, `invalid_token` with refused ones.
    public func requireCaller() throws(APIError) -> VerifiedCaller {
        if let caller = shop.caller { return caller }
        throw shop.refusal ?? .unauthorized
    }

    /// A path parameter that names a record: at most `Limits.idMaxBytes` bytes, else 400 (a longer key
    /// would be a DynamoDB error, not a "not found").
    public func pathId(_ name: String = "id") throws -> String {
        let value = try parameters.require(name)
        guard !value.isEmpty, value.utf8.count <= Limits.idMaxBytes else {
            throw APIError.badRequest("invalid_parameter", "'\(name)' must be 1 to \(Limits.idMaxBytes) bytes.")
        }
        return value
    }

    /// An admin caller: 401 as `requireCaller()`, 403 for a non-admin.
    public func requireAdmin() throws(APIError) -> VerifiedCaller {
        let caller = try requireCaller()
        guard caller.isAdmin else { throw .forbidden }
        return caller
    }
}

/// The request context of `shop serve` and the tests.
public struct ShopContext: ShopRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var shop = ShopRequestState()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        shop.connection = source.channel
    }
}
