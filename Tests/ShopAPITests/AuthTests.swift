import Crypto
import CryptoExtras
import Foundation
import HTTPTypes
import Identity
import JWTKit
import ShopAPI
import Testing

@Suite("Auth routes")
struct AuthTests {
    @Test func registerLoginMeAndRefresh() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let registered = try await c.register("Ada@Example.com ", name: "Ada Lovelace")
            #expect(registered.status == .created)
            #expect(registered.string("email") == "ada@example.com")
            #expect(registered.string("name") == "Ada Lovelace")
            #expect(!registered.string("userId").isEmpty)
            #expect(registered["password"] == nil && !registered.text.contains("$2"), "no password or hash in the answer")

            let login = try await c.login("ada@example.com")
            #expect(login.status == .ok)
            #expect(login.string("tokenType") == "Bearer")
            #expect(login.int("expiresIn") == 3600)
            #expect(login.headers[.cacheControl] == "no-store")
            for key in ["idToken", "accessToken", "refreshToken"] { #expect(!login.string(key).isEmpty, "\(key)") }

            for token in [login.string("idToken"), login.string("accessToken")] {
                let me = try await c.send(.get, "/auth/me", token: token)
                #expect(me.status == .ok)
                #expect(me.string("email") == "ada@example.com")
                #expect(me.string("name") == "Ada Lovelace")
                #expect(me.string("userId") == registered.string("userId"))
                #expect(me["groups"] as? [String] == [])
            }

            shop.clock.advance(by: 60)
            let refreshed = try await c.send(.post, "/auth/refresh", json: #"{"refreshToken":"\#(login.string("refreshToken"))"}"#)
            #expect(refreshed.status == .ok)
            #expect(refreshed.string("idToken") != login.string("idToken"))
            #expect(try await c.send(.get, "/auth/me", token: refreshed.string("accessToken")).status == .ok)

            let bogus = try await c.send(.post, "/auth/refresh", json: #"{"refreshToken":"not-a-token"}"#)
            #expect(bogus.status == .unauthorized)
            // A refresh token is not a bearer token.
            #expect(try await c.send(.get, "/auth/me", token: login.string("refreshToken")).status == .unauthorized)
        }
    }

    @Test func logoutRevokesTheRefreshToken() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let ada = try await c.shopper()
            let bob = try await c.shopper()
            let logout = #"{"refreshToken":"\#(ada.refreshToken)"}"#
            #expect(try await c.send(.post, "/auth/logout", json: logout).status == .unauthorized, "a bearer token is needed")
            let stolen = try await c.send(.post, "/auth/logout", token: bob.accessToken, json: logout)
            #expect(stolen.status == .unauthorized, "another user cannot revoke Ada's token")
            #expect(try await c.send(.post, "/auth/refresh", json: logout).status == .ok, "so it still works")
            #expect(try await c.send(.post, "/auth/logout", token: ada.accessToken, json: logout).status == .noContent)
            let refused = try await c.send(.post, "/auth/refresh", json: logout)
            #expect(refused.status == .unauthorized)
            #expect(refused.errorCode == "invalid_token")
            #expect(
                try await c.send(.post, "/auth/logout", token: ada.accessToken, json: logout).status == .unauthorized, "already revoked")
            #expect(try await c.send(.post, "/auth/refresh", json: #"{"refreshToken":"\#(bob.refreshToken)"}"#).status == .ok)
        }
    }

    @Test func tokensHaveCognitosShape() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let admin = try await shop.admin(c)
            let header = try decodeSegment(admin.idToken, 0)
            #expect(header["alg"] as? String == "RS256")
            #expect(header["kid"] as? String == TestShop.signingKey.kid)
            let id = try decodeClaims(admin.idToken)
            #expect(id["iss"] as? String == TestShop.issuer)
            #expect(id["aud"] as? String == TestShop.clientId)
            #expect(id["token_use"] as? String == "id")
            #expect(id["email"] as? String == "admin@example.com")
            #expect(id["cognito:groups"] as? [String] == ["admin"])
            #expect(id["sub"] as? String == admin.userId)
            let iat = try #require(id["iat"] as? Double)
            #expect(iat == shop.clock.now.timeIntervalSince1970.rounded(.down))
            #expect(id["exp"] as? Double == iat + 3600)
            let access = try decodeClaims(admin.accessToken)
            #expect(access["token_use"] as? String == "access")
            #expect(access["client_id"] as? String == TestShop.clientId)
            #expect(access["aud"] == nil)
            #expect(access["cognito:groups"] as? [String] == ["admin"])

            // The JWKS route serves the key that verifies the tokens.
            let jwks = try await c.send(.get, "/.well-known/jwks.json")
            #expect(jwks.status == .ok)
            let keys = try #require(jwks["keys"] as? [[String: Any]])
            #expect(keys.count == 1)
            #expect(keys.first?["kid"] as? String == TestShop.signingKey.kid)
            #expect(keys.first?["d"] == nil, "no private part")
            let collection = try await JWTKeyCollection().add(jwksJSON: jwks.text)
            _ = try await collection.verify(admin.idToken, as: ShopClaims.self)
        }
    }

    @Test func registrationRules() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            #expect(try await c.register("bob@example.com").status == .created)
            let taken = try await c.register("BOB@example.com")
            #expect(taken.status == .conflict)
            #expect(taken.errorCode == "email_taken")

            let short = try await c.register("short@example.com", password: "Ab1")
            #expect(short.status == .badRequest)
            #expect(short.errorCode == "weak_password")
            #expect(short.errorMessage?.contains("8") == true)
            let oneKind = try await c.register("kind@example.com", password: "abcdefghijkl")
            #expect(oneKind.status == .badRequest)
            #expect(oneKind.errorCode == "weak_password")
            #expect(oneKind.errorMessage?.contains("two kinds") == true)
            let tooLong = try await c.register("long@example.com", password: String(repeating: "aB1", count: 30))
            #expect(tooLong.errorCode == "weak_password")

            let badEmail = try await c.register("not-an-email")
            #expect(badEmail.status == .badRequest)
            #expect(badEmail.errorCode == "validation_failed")
            let noName = try await c.send(.post, "/auth/register", json: #"{"email":"x@example.com","password":"Passw0rd!","name":"  "}"#)
            #expect(noName.errorCode == "validation_failed")
            let missing = try await c.send(.post, "/auth/register", json: #"{"email":"x@example.com"}"#)
            #expect(missing.status == .badRequest)
            #expect(missing.errorMessage?.contains("password") == true)
            // None of the refused registrations created an account.
            for email in ["short@example.com", "kind@example.com", "long@example.com", "x@example.com"] {
                #expect(try await c.login(email).status == .unauthorized)
            }
            // Local accounts need no confirmation; there is no code to confirm.
            let confirm = try await c.send(.post, "/auth/confirm", json: #"{"email":"bob@example.com","code":"123456"}"#)
            #expect(confirm.status == .badRequest)
        }
    }

    @Test func wrongPasswordAndUnknownUserLookTheSame() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            _ = try await c.register("carol@example.com")
            let wrong = try await c.login("carol@example.com", password: "Wrong-passw0rd")
            let unknown = try await c.login("nobody@example.com", password: "Wrong-passw0rd")
            let garbage = try await c.login("not an email", password: "x")
            for reply in [wrong, unknown, garbage] {
                #expect(reply.status == .unauthorized)
                #expect(reply.errorCode == "invalid_credentials")
            }
            #expect(wrong.errorMessage == unknown.errorMessage)
        }
    }

    @Test func meNeedsAToken() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let none = try await c.send(.get, "/auth/me")
            #expect(none.status == .unauthorized)
            #expect(none.errorCode == "unauthorized")
            #expect(none.headers[.wwwAuthenticate] == "Bearer")
            let basic = try await c.send(.get, "/auth/me", headers: [.authorization: "Basic YTpi"])
            #expect(basic.status == .unauthorized)
        }
    }
}

@Suite("Token attacks")
struct TokenAttackTests {
    /// Signs arbitrary header and claims with `sign` (to forge tokens the issuer never made).
    static func forge(header: [String: Any], claims: [String: Any], sign: (Data) throws -> Data) throws -> String {
        let h = base64URL(try JSONSerialization.data(withJSONObject: header))
        let p = base64URL(try JSONSerialization.data(withJSONObject: claims))
        let signature = try sign(Data("\(h).\(p)".utf8))
        return "\(h).\(p).\(base64URL(signature))"
    }

    static func validClaims(_ shop: TestShop, sub: String) -> [String: Any] {
        let now = shop.clock.now.timeIntervalSince1970
        return [
            "iss": TestShop.issuer, "sub": sub, "aud": TestShop.clientId, "token_use": "id",
            "cognito:groups": ["admin"], "email": "mallory@example.com", "iat": now, "exp": now + 3600,
        ]
    }

    static func rs256(_ key: _RSA.Signing.PrivateKey) -> (Data) throws -> Data {
        { data in try key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation }
    }

    @Test func forgedAndStaleTokensAreRefused() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let user = try await c.shopper()
            let kid = TestShop.signingKey.kid
            let realKey = try _RSA.Signing.PrivateKey(pemRepresentation: TestShop.signingKey.privateKey.pemRepresentation)
            let claims = Self.validClaims(shop, sub: user.userId)

            // Control: a token forged with the real key and valid claims passes, so the
            // refusals below are down to what each attack changes.
            let control = try Self.forge(header: ["alg": "RS256", "kid": kid], claims: claims, sign: Self.rs256(realKey))
            #expect(try await c.send(.get, "/auth/me", token: control).status == .ok)

            var attacks: [(String, String)] = []
            attacks.append(("alg none", try Self.forge(header: ["alg": "none", "kid": kid], claims: claims) { _ in Data() }))
            attacks.append(
                ("alg none, no signature part", String(try Self.forge(header: ["alg": "none"], claims: claims) { _ in Data() }.dropLast(0)))
            )
            let publicPEM = realKey.publicKey.pemRepresentation
            attacks.append(
                (
                    "HS256 keyed with the public key",
                    try Self.forge(header: ["alg": "HS256", "kid": kid], claims: claims) { data in
                        Data(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: Data(publicPEM.utf8))))
                    }
                ))
            let otherKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            attacks.append(
                ("another key, same kid", try Self.forge(header: ["alg": "RS256", "kid": kid], claims: claims, sign: Self.rs256(otherKey))))
            attacks.append(
                ("unknown kid", try Self.forge(header: ["alg": "RS256", "kid": "nope"], claims: claims, sign: Self.rs256(realKey))))
            attacks.append(("no kid", try Self.forge(header: ["alg": "RS256"], claims: claims, sign: Self.rs256(realKey))))
            func with(_ change: (inout [String: Any]) -> Void) throws -> String {
                var changed = claims
                change(&changed)
                return try Self.forge(header: ["alg": "RS256", "kid": kid], claims: changed, sign: Self.rs256(realKey))
            }
            attacks.append(("wrong issuer", try with { $0["iss"] = "https://evil.example" }))
            attacks.append(("wrong audience", try with { $0["aud"] = "other-client" }))
            attacks.append(("expired", try with { $0["exp"] = shop.clock.now.timeIntervalSince1970 - 120 }))
            attacks.append(("issued in the future", try with { $0["iat"] = shop.clock.now.timeIntervalSince1970 + 3600 }))
            attacks.append(("refresh token_use", try with { $0["token_use"] = "refresh" }))
            attacks.append(
                (
                    "access token with the wrong client_id",
                    try with {
                        $0["token_use"] = "access"
                        $0["aud"] = nil
                        $0["client_id"] = "other-client"
                    }
                ))
            attacks.append(("no token_use", try with { $0["token_use"] = nil }))
            // Tampering: the user's real token with its payload swapped for one that says admin.
            let parts = user.idToken.split(separator: ".")
            var payload = try decodeClaims(user.idToken)
            payload["cognito:groups"] = ["admin"]
            let tampered = "\(parts[0]).\(base64URL(try JSONSerialization.data(withJSONObject: payload))).\(parts[2])"
            attacks.append(("tampered payload", tampered))
            attacks.append(("truncated signature", String(user.idToken.dropLast(4))))
            attacks.append(("garbage", "a.b.c"))

            for (name, token) in attacks {
                let reply = try await c.send(.get, "/auth/me", token: token)
                #expect(reply.status == .unauthorized, "\(name)")
                #expect(reply.errorCode == "invalid_token", "\(name)")
                let create = try await c.send(.post, "/products", token: token, json: #"{"name":"X","price":1,"category":"c"}"#)
                #expect(create.status == .unauthorized, "\(name) must not reach an admin route")
            }
        }
    }

    @Test func tokensExpireWithSmallLeeway() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.test { c in
            let user = try await c.shopper()
            shop.clock.advance(by: 3600 + 30)
            #expect(try await c.send(.get, "/auth/me", token: user.accessToken).status == .ok, "within the 60 s leeway")
            shop.clock.advance(by: 60)
            let expired = try await c.send(.get, "/auth/me", token: user.accessToken)
            #expect(expired.status == .unauthorized)
            #expect(expired.errorCode == "invalid_token")
            // The refresh token still works and yields fresh tokens.
            let refreshed = try await c.send(.post, "/auth/refresh", json: #"{"refreshToken":"\#(user.refreshToken)"}"#)
            #expect(try await c.send(.get, "/auth/me", token: refreshed.string("idToken")).status == .ok)
        }
    }
}
