import Hummingbird

/// The router's own 404 envelope, for hosts that refuse a path before it reaches the router
/// (a Lambda function serves one area of the API).
public enum RouteNotFound {
    public static func response<Context: ShopRequestContext>(to request: Request, context: Context) throws -> Response {
        var response = try EnvelopeMiddleware<Context>.envelope(
            EnvelopeMiddleware<Context>.translate(HTTPError(.notFound), request: request))
        response.headers[.requestId] = EnvelopeMiddleware<Context>.requestId(from: request)
        return response
    }
}
