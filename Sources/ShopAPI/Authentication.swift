import Hummingbird
import Identity
import ShopSupport

/// Works out who is calling, once per request, and puts it in `context.shop`: the claims API Gateway's
/// JWT authorizer verified (in a host told to trust them), else the bearer token, verified by the one
/// `TokenVerifier`. It refuses nothing itself: public routes ignore the result, and routes that need a
/// caller call `context.requireCaller()` or `context.requireAdmin()`.
struct Authentication: Sendable {
    let verifier: TokenVerifier

    func identify<Context: ShopRequestContext>(_ request: Request, context: inout Context) async {
        if let claims = context.authorizerClaims {
            do {
                context.shop.caller = try verifier.caller(fromAuthorizerClaims: claims)
            } catch {
                context.logger.warning("authorizer claims refused", metadata: ["reason": "\(error)"])
                context.shop.refusal = .invalidToken
            }
        } else if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                do {
                    context.shop.caller = try await verifier.verify(parts[1].trimmingWhitespace())
                } catch {
                    context.shop.refusal = .invalidToken
                }
            }
        }
    }
}
