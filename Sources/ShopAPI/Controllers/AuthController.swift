import Hummingbird
import Identity

/// `/auth` and the local JWKS.
struct AuthController<Context: ShopRequestContext>: Sendable {
    let identity: any IdentityProvider
    let limits: AbuseLimits
    /// The local issuer's public keys; nil when tokens come from elsewhere (Cognito).
    let jwksJSON: String?

    struct RegisterBody: Decodable {
        var email: String
        var password: String
        var name: String
    }
    struct ConfirmBody: Decodable {
        var email: String
        var code: String
    }
    struct LoginBody: Decodable {
        var email: String
        var password: String
    }
    struct RefreshBody: Decodable { var refreshToken: String }

    /// What `POST /auth/register` answers: the new account (201), or that a code was sent (202, Cognito).
    enum RegisterReply: ResponseEncodable {
        case registered(userId: String, email: String, name: String)
        case confirmationRequired

        enum CodingKeys: String, CodingKey { case userId, email, name, confirmationRequired }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .registered(let userId, let email, let name):
                try c.encode(userId, forKey: .userId)
                try c.encode(email, forKey: .email)
                try c.encode(name, forKey: .name)
            case .confirmationRequired:
                try c.encode(true, forKey: .confirmationRequired)
            }
        }
    }

    func addRoutes(to router: Router<Context>) {
        let group = router.group("auth")
        let limited = group.group().add(middleware: AddressRateLimitMiddleware<Context>(limits: limits))
        limited.post("register", use: register)
        limited.post("confirm", use: confirm)
        limited.post("login", use: login)
        limited.post("refresh", use: refresh)
        group.get("me", use: me)
        group.post("logout", use: logout)
        if let jwksJSON {
            router.get(".well-known/jwks.json") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                    body: .init(byteBuffer: ByteBuffer(string: jwksJSON)))
            }
        }
    }

    @Sendable func register(_ request: Request, context: Context) async throws -> EditedResponse<RegisterReply> {
        let body = try await request.decode(as: RegisterBody.self, context: context)
        let registration = try await identityCall { () throws(IdentityError) in
            try await identity.register(email: body.email, password: body.password, name: body.name)
        }
        switch registration {
        case .registered(let profile):
            context.logger.info("user registered", metadata: ["user_id": "\(profile.userId)"])
            return EditedResponse(status: .created, response: .registered(userId: profile.userId, email: profile.email, name: profile.name))
        case .confirmationRequired:
            return EditedResponse(status: .accepted, response: .confirmationRequired)
        }
    }

    @Sendable func confirm(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let body = try await request.decode(as: ConfirmBody.self, context: context)
        try await identityCall { () throws(IdentityError) in try await identity.confirm(email: body.email, code: body.code) }
        return .noContent
    }

    @Sendable func login(_ request: Request, context: Context) async throws -> EditedResponse<AuthTokens> {
        let body = try await request.decode(as: LoginBody.self, context: context)
        // Keyed by the normalised email only: an invalid one cannot be an account, and cannot grow the tables.
        let account = try? Credentials.normalizedEmail(body.email)
        let client = limits.clientKey(request, context: context)
        // Failures per (account, address) refuse; the token is taken before the check (so parallel guesses
        // cannot all slip through) and given back when the password was right: only failures count.
        var pair: String?
        if let limiter = limits.failedLogins, let account, let client {
            let key = AbuseLimits.pairKey(account: account, client: client)
            if let wait = limiter.take(key) {
                context.logger.notice("login failure limit for an account from one address", metadata: ["client": "\(client)"])
                throw AbuseLimits.refusal(wait, what: "failed sign-ins for this account from your address")
            }
            pair = key
        }
        // Failures for the account from every address only slow it down: never a lockout of its owner.
        if let slowdown = limits.accountSlowdown, let account, slowdown.peek(account) != nil {
            context.logger.notice("login slowed: many failures for this account")
            try await Task.sleep(for: limits.accountDelay)
        }
        do {
            let tokens = try await identityCall { () throws(IdentityError) in
                try await identity.login(email: body.email, password: body.password)
            }
            if let pair { limits.failedLogins?.giveBack(pair) }
            return EditedResponse(headers: [.cacheControl: "no-store"], response: tokens)
        } catch let error where error.status == .unauthorized {
            if let account { _ = limits.accountSlowdown?.take(account) }
            if let client { _ = limits.recentFailures?.take(client) }
            throw error
        } catch {
            // Not a wrong password (the gate was full, the store failed): it does not count against anyone.
            if let pair { limits.failedLogins?.giveBack(pair) }
            throw error
        }
    }

    @Sendable func refresh(_ request: Request, context: Context) async throws -> EditedResponse<AuthTokens> {
        let body = try await request.decode(as: RefreshBody.self, context: context)
        let tokens = try await identityCall { () throws(IdentityError) in try await identity.refresh(refreshToken: body.refreshToken) }
        return EditedResponse(headers: [.cacheControl: "no-store"], response: tokens)
    }

    /// Signs out: revokes the refresh token, so `/auth/refresh` refuses it from now on.
    @Sendable func logout(_ request: Request, context: Context) async throws -> HTTPResponse.Status {
        let caller = try context.requireCaller()
        let body = try await request.decode(as: RefreshBody.self, context: context)
        try await identityCall { () throws(IdentityError) in try await identity.logout(refreshToken: body.refreshToken, caller: caller) }
        context.logger.info("signed out", metadata: ["user_id": "\(caller.userId)"])
        return .noContent
    }

    @Sendable func me(_ request: Request, context: Context) async throws -> UserProfile {
        let caller = try context.requireCaller()
        return try await identityCall { () throws(IdentityError) in try await identity.profile(of: caller) }
    }

    private func identityCall<T>(_ body: () async throws(IdentityError) -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            throw APIError(error)
        }
    }
}
