import AsyncHTTPClient
import JWTKit
import Logging
import NIOCore
import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The verified facts about a caller, taken from a token that passed every check.
public struct VerifiedCaller: Sendable, Equatable {
    public var userId: String
    public var email: String?
    public var name: String?
    public var groups: [String]
    public var tokenUse: String
    /// The account's username as the token names it (`username` in access tokens, `cognito:username` in
    /// id tokens): what Cognito's admin calls take. It is the `sub` in pools whose users sign in with
    /// their email (`UsernameAttributes`), and the name given at sign-up in pools without.
    public var username: String?
    public init(userId: String, email: String?, name: String?, groups: [String], tokenUse: String, username: String? = nil) {
        self.userId = userId
        self.email = email
        self.name = name
        self.groups = groups
        self.tokenUse = tokenUse
        self.username = username
    }
    public var isAdmin: Bool { groups.contains(adminGroup) }
}

/// Where the verifier gets public keys.
public enum JWKSSource: Sendable {
    /// A key set held in the process (the local issuer's own).
    case keySet(String)
    /// A JWKS URL (Cognito's, or moto's), fetched and cached, refetched on an unknown `kid`.
    case url(String, HTTPClient)
}

/// What a valid token must say.
public struct TokenPolicy: Sendable {
    public var issuer: String
    /// Must equal `aud` of id tokens and `client_id` of access tokens.
    public var clientId: String
    public var acceptedUses: Set<String>
    /// Clock skew tolerated on `exp` and `iat`.
    public var leeway: Duration
    public init(issuer: String, clientId: String, acceptedUses: Set<String> = ["id", "access"], leeway: Duration = .seconds(60)) {
        self.issuer = issuer
        self.clientId = clientId
        self.acceptedUses = acceptedUses
        self.leeway = leeway
    }
}

/// The one place bearer tokens are checked: RS256 only, known `kid`, signature,
/// issuer, audience or client id, expiry with a small leeway, and token use.
public final class TokenVerifier: Sendable {
    let policy: TokenPolicy
    let keys: KeyCache
    let clock: WallClock

    /// `refetchInterval` bounds how often an unknown `kid` may trigger a JWKS fetch, so
    /// that tokens with made-up kids cannot turn the verifier into a request flood.
    public init(
        policy: TokenPolicy, source: JWKSSource, clock: WallClock = .system, refetchInterval: Duration = .seconds(60),
        logger: Logger = Logger(label: "shop.tokens")
    ) {
        self.policy = policy
        self.clock = clock
        keys = KeyCache(source: source, refetchInterval: refetchInterval, logger: logger)
    }

    /// Verifies `token` and returns its caller, or throws `.invalidToken` with a reason for logs.
    public func verify(_ token: String) async throws(IdentityError) -> VerifiedCaller {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Data(base64URLEncoded: String(parts[0])) else {
            throw .invalidToken("not a compact JWS")
        }
        struct Header: Decodable {
            var alg: String?
            var kid: String?
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData) else { throw .invalidToken("bad header") }
        // Pin the algorithm before any key is touched: no `none`, no HS256 keyed with the public key.
        guard header.alg == "RS256" else { throw .invalidToken("algorithm \(header.alg ?? "missing") is not RS256") }
        guard let kid = header.kid, !kid.isEmpty else { throw .invalidToken("no kid") }
        guard let collection = await keys.collection(for: kid) else { throw .invalidToken("unknown kid") }

        let claims: ShopClaims
        do {
            claims = try await collection.verify(token, as: ShopClaims.self)
        } catch {
            throw .invalidToken("signature or payload: \(error)")
        }
        return try check(claims)
    }

    /// Fetches the key set ahead of the first token (a Lambda function's init phase); returns how
    /// many keys are known. A failed fetch is logged and retried when a token needs the keys.
    @discardableResult
    public func preload() async -> Int {
        await keys.preload()
    }

    /// The caller from claims that API Gateway's JWT authorizer has already verified (signature,
    /// issuer, audience, expiry), as `requestContext.authorizer.jwt.claims` carries them: every
    /// value a string, arrays as `[a b]`. The same policy applies, so a misconfigured authorizer
    /// (another pool or client) is still refused; only the signature is taken on trust.
    public func caller(fromAuthorizerClaims given: [String: String]) throws(IdentityError) -> VerifiedCaller {
        func number(_ name: String) throws(IdentityError) -> Double {
            guard let text = given[name], let value = Double(text) else { throw .invalidToken("authorizer claims without \(name)") }
            return value
        }
        guard let iss = given["iss"], let sub = given["sub"], let tokenUse = given["token_use"] else {
            throw .invalidToken("authorizer claims without iss, sub or token_use")
        }
        let claims = ShopClaims(
            iss: iss, sub: sub, aud: given["aud"], clientId: given["client_id"], tokenUse: tokenUse,
            groups: given["cognito:groups"].map(Self.claimList), email: given["email"], name: given["name"],
            username: given["username"] ?? given["cognito:username"], exp: try number("exp"), iat: try number("iat"))
        return try check(claims)
    }

    /// A list claim as API Gateway renders it (`[admin user]`), or a bare single value.
    static func claimList(_ text: String) -> [String] {
        text.trimming { $0 == "[" || $0 == "]" || $0.isWhitespace }
            .split(whereSeparator: { $0 == " " || $0 == "," })
            .map { $0.trimmingWhitespace() }
            .filter { !$0.isEmpty }
    }

    /// Issuer, token use, audience or client id, expiry and subject: everything but the signature.
    func check(_ claims: ShopClaims) throws(IdentityError) -> VerifiedCaller {
        guard claims.iss == policy.issuer else { throw .invalidToken("wrong issuer") }
        guard policy.acceptedUses.contains(claims.tokenUse) else { throw .invalidToken("token_use \(claims.tokenUse) not accepted") }
        switch claims.tokenUse {
        case "id": guard claims.aud == policy.clientId else { throw .invalidToken("wrong audience") }
        case "access": guard claims.clientId == policy.clientId else { throw .invalidToken("wrong client_id") }
        default: throw .invalidToken("unknown token_use")
        }
        let now = clock.now().timeIntervalSince1970
        let leeway = policy.leeway.seconds
        guard claims.exp + leeway > now else { throw .invalidToken("expired") }
        guard claims.iat - leeway <= now else { throw .invalidToken("issued in the future") }
        guard !claims.sub.isEmpty else { throw .invalidToken("no subject") }
        return VerifiedCaller(
            userId: claims.sub, email: claims.email, name: claims.name, groups: claims.groups ?? [], tokenUse: claims.tokenUse,
            username: claims.username)
    }
}

/// Public keys by `kid`, each in its own collection so that jwt-kit never falls back to another key.
actor KeyCache {
    let source: JWKSSource
    let refetchInterval: Duration
    let logger: Logger
    var collections: [String: JWTKeyCollection] = [:]
    var lastFetch: ContinuousClock.Instant?
    var loaded = false

    init(source: JWKSSource, refetchInterval: Duration, logger: Logger) {
        self.source = source
        self.refetchInterval = refetchInterval
        self.logger = logger
    }

    /// Loads the key set now if it has not been loaded; returns how many keys are known.
    func preload() async -> Int {
        if !loaded { await reload() }
        return collections.count
    }

    func collection(for kid: String) async -> JWTKeyCollection? {
        // Never loaded (the JWKS was unreachable): try again, but at most once a second, so that
        // an outage does not turn every request into a fetch that waits for its timeout.
        if !loaded, lastFetch.map({ ContinuousClock.now - $0 >= min(refetchInterval, .seconds(1)) }) ?? true {
            await reload()
        }
        if let found = collections[kid] { return found }
        // An unknown kid may mean the issuer rotated its keys; refetch, at most once per interval.
        if case .url = source, lastFetch.map({ ContinuousClock.now - $0 >= refetchInterval }) ?? true {
            await reload()
        }
        return collections[kid]
    }

    private func reload() async {
        // Set before the fetch (callers arriving meanwhile do not fetch too) and after it (the
        // interval counts from when the answer came, however slow it was).
        lastFetch = .now
        defer { lastFetch = .now }
        let json: String
        switch source {
        case .keySet(let keySet):
            json = keySet
        case .url(let url, let client):
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .GET
                let response = try await client.execute(request, timeout: .seconds(5))
                guard response.status == .ok else {
                    logger.error("JWKS fetch failed", metadata: ["status": "\(response.status.code)", "url": "\(url)"])
                    return
                }
                let body = try await response.body.collect(upTo: 1 << 20)
                json = String(buffer: body)
            } catch {
                logger.error("JWKS fetch failed", metadata: ["error": "\(error)", "url": "\(url)"])
                return
            }
        }
        struct Set: Decodable {
            struct Key: Decodable {
                var kty: String
                var kid: String?
                var n: String?
                var e: String?
                var alg: String?
                var use: String?
            }
            var keys: [Key]
        }
        guard let set = try? JSONDecoder().decode(Set.self, from: Data(json.utf8)) else {
            logger.error("JWKS is not valid JSON")
            return
        }
        var fresh: [String: JWTKeyCollection] = [:]
        for key in set.keys where key.kty == "RSA" && (key.alg == nil || key.alg == "RS256") && (key.use == nil || key.use == "sig") {
            guard let kid = key.kid, let n = key.n, let e = key.e,
                let publicKey = try? JWTKit.Insecure.RSA.PublicKey(modulus: n, exponent: e)
            else { continue }
            fresh[kid] = await JWTKeyCollection().add(rsa: publicKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
        }
        collections = fresh
        loaded = true
    }
}
