import Foundation
import Hummingbird
import Identity

/// What every host's request context carries for the shop's routes.
public protocol ShopRequestContext: RequestContext {
    /// The id echoed in `X-Request-Id` and every log line of the request.
    var requestId: String { get set }
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
