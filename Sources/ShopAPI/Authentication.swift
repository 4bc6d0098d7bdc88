import ShopSupport
import Hummingbird
import Identity

/// Turns the `Authorization` header into a verified caller, through the one `TokenVerifier`; or,
/// in a host configured to trust them, the claims API Gateway's JWT authorizer has verified.
struct Authenticator: Sendable {
    let verifier: TokenVerifier

    /// The caller, or 401.
    func caller(of request: Request, context: some ShopRequestContext) async throws(APIError) -> VerifiedCaller {
        if let claims = context.authorizerClaims {
            do {
                return try verifier.caller(fromAuthorizerClaims: claims)
            } catch {
                context.logger.warning("authorizer claims refused", metadata: ["reason": "\(error)"])
                throw .invalidToken
            }
        }
        guard let header = request.headers[.authorization] else { throw .unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw .unauthorized }
        do {
            return try await verifier.verify(parts[1].trimmingWhitespace())
        } catch {
            throw .invalidToken
        }
    }

    /// An admin caller: 401 without a valid token, 403 for a non-admin.
    func admin(of request: Request, context: some ShopRequestContext) async throws(APIError) -> VerifiedCaller {
        let caller = try await caller(of: request, context: context)
        guard caller.isAdmin else { throw .forbidden }
        return caller
    }
}
