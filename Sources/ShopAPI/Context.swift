#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Identity

/// What every host's request context carries for the shop's routes.
public protocol ShopRequestContext: RequestContext {
    /// The id echoed in `X-Request-Id` and every log line of the request.
    var requestId: String { get set }
    /// Claims an API Gateway JWT authorizer has verified for this request, when the host is
    /// configured to trust them (`SHOP_TRUST_AUTHORIZER_CLAIMS`); nil means "verify the bearer token".
    var authorizerClaims: [String: String]? { get }
}

extension ShopRequestContext {
    public var authorizerClaims: [String: String]? { nil }
}

/// The request context of `shop serve` and the tests.
public struct ShopContext: ShopRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestId: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestId = ""
    }

    /// Bodies are read through `JSONBody`, which enforces the limit itself.
    public var maxUploadSize: Int { 1 << 20 }
}
