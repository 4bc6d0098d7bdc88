import Hummingbird
import Identity

/// `/auth` and the local JWKS.
struct AuthController<Context: ShopRequestContext>: Sendable {
    let identity: any IdentityProvider
    let auth: Authenticator
    /// The local issuer's public keys; nil when tokens come from elsewhere (Cognito).
    let jwksJSON: String?

    struct RegisterBody: Decodable { var email: String; var password: String; var name: String }
    struct ConfirmBody: Decodable { var email: String; var code: String }
    struct LoginBody: Decodable { var email: String; var password: String }
    struct RefreshBody: Decodable { var refreshToken: String }

    func addRoutes(to router: Router<Context>) {
        let group = router.group("auth")
        group.post("register", use: register)
        group.post("confirm", use: confirm)
        group.post("login", use: login)
        group.post("refresh", use: refresh)
        group.get("me", use: me)
        if let jwksJSON {
            router.get(".well-known/jwks.json") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                    body: .init(byteBuffer: ByteBuffer(string: jwksJSON)))
            }
        }
    }

    @Sendable func register(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(RegisterBody.self)
        let registration = try await identityCall { () throws(IdentityError) in
            try await identity.register(email: body.email, password: body.password, name: body.name)
        }
        switch registration {
        case .registered(let profile):
            context.logger.info("user registered", metadata: ["user_id": "\(profile.userId)"])
            return try .json(["userId": profile.userId, "email": profile.email, "name": profile.name], status: .created)
        case .confirmationRequired:
            return try .json(["confirmationRequired": true], status: .accepted)
        }
    }

    @Sendable func confirm(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(ConfirmBody.self)
        try await identityCall { () throws(IdentityError) in try await identity.confirm(email: body.email, code: body.code) }
        return .empty(.noContent)
    }

    @Sendable func login(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(LoginBody.self)
        let tokens = try await identityCall { () throws(IdentityError) in try await identity.login(email: body.email, password: body.password) }
        return try .json(tokens, headers: [.cacheControl: "no-store"])
    }

    @Sendable func refresh(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.decodeJSON(RefreshBody.self)
        let tokens = try await identityCall { () throws(IdentityError) in try await identity.refresh(refreshToken: body.refreshToken) }
        return try .json(tokens, headers: [.cacheControl: "no-store"])
    }

    @Sendable func me(_ request: Request, context: Context) async throws -> Response {
        let caller = try await auth.caller(of: request, context: context)
        return try .json(try await identityCall { () throws(IdentityError) in try await identity.profile(of: caller) })
    }

    private func identityCall<T>(_ body: () async throws(IdentityError) -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            throw APIError(error)
        }
    }
}
