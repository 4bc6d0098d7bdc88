import Hummingbird
import LambdaHost
import ShopAPI

/// The request context of the shop's routes inside a Lambda function.
struct FunctionRequestContext: ShopRequestContext {
    typealias Source = LambdaRequestContextSource
    var coreContext: CoreRequestContextStorage
    var requestId: String
    let invocation: LambdaInvocationContext
    /// Set only when the adapter trusts API Gateway's authorizer (`SHOP_TRUST_AUTHORIZER_CLAIMS`).
    let authorizerClaims: [String: String]?

    init(source: LambdaRequestContextSource) {
        coreContext = .init(source: source)
        requestId = ""
        invocation = source.invocation
        authorizerClaims = source.authorizerClaims
    }

    /// Bodies are read through `JSONBody`, which enforces the limit itself.
    var maxUploadSize: Int { 1 << 20 }
}
