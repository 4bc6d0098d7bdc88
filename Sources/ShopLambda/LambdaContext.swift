import Hummingbird
import LambdaHost
import ShopAPI

/// The request context of the shop's routes inside a Lambda function.
struct LambdaContext: ShopRequestContext {
    typealias Source = LambdaRequestContextSource
    var coreContext: CoreRequestContextStorage
    var requestId: String
    let invocation: LambdaInvocationContext

    init(source: LambdaRequestContextSource) {
        coreContext = .init(source: source)
        requestId = ""
        invocation = source.invocation
    }

    /// Bodies are read through `JSONBody`, which enforces the limit itself.
    var maxUploadSize: Int { 1 << 20 }
}
