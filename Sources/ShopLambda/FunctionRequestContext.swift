import Hummingbird
import LambdaHost
import ShopAPI

/// The request context of the shop's routes inside a Lambda function: `ShopRequestContext` gives it
/// everything but how it is made from an invocation.
struct FunctionRequestContext: ShopRequestContext {
    typealias Source = FunctionRequestContextSource
    var coreContext: CoreRequestContextStorage
    var shop: ShopRequestState
    let invocation: LambdaContext

    init(source: FunctionRequestContextSource) {
        coreContext = .init(source: source)
        // Set only when the adapter trusts API Gateway's authorizer (`SHOP_TRUST_AUTHORIZER_CLAIMS`).
        shop = ShopRequestState(authorizerClaims: source.authorizerClaims)
        invocation = source.invocation
    }
}
