import Hummingbird
import Identity

/// Turns the `Authorization` header into a verified caller, through the one `TokenVerifier`.
struct Authenticator: Sendable {
    let verifier: TokenVerifier

    /// The caller, or 401.
    func caller(of request: Request) async throws(APIError) -> VerifiedCaller {
        guard let header = request.headers[.authorization] else { throw .unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw .unauthorized }
        do {
            return try await verifier.verify(String(parts[1]).trimmingCharacters(in: .whitespaces))
        } catch {
            throw .invalidToken
        }
    }

    /// An admin caller: 401 without a valid token, 403 for a non-admin.
    func admin(of request: Request) async throws(APIError) -> VerifiedCaller {
        let caller = try await caller(of: request)
        guard caller.isAdmin else { throw .forbidden }
        return caller
    }
}
