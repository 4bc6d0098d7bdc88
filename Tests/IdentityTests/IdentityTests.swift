import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Identity
import JWTKit
import SQLiteStore
import ShopDomain
import ShopSupport
import Synchronization
import Testing

@Suite("Signing key")
struct SigningKeyTests {
    @Test func createdOwnerOnlyAndReloaded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keys/token-signing.pem"
        let first = try SigningKey.loadOrCreate(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let second = try SigningKey.loadOrCreate(at: path)
        #expect(first.kid == second.kid, "the same key comes back after a restart")
        let jwks = try JSONSerialization.jsonObject(with: Data(first.jwksJSON.utf8)) as? [String: Any]
        let key = (jwks?["keys"] as? [[String: Any]])?.first
        #expect(key?["kty"] as? String == "RSA")
        #expect(key?["alg"] as? String == "RS256")
        #expect(key?["d"] == nil && key?["p"] == nil, "the JWKS holds no private part")
        let directory = try FileManager.default.attributesOfItem(atPath: dir + "/keys")
        #expect((directory[.posixPermissions] as? NSNumber)?.intValue == 0o700, "keys/ is the owner's only")
    }

    @Test func processesStartingTogetherAgreeOnOneSecret() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keys/cursor.key"
        // Threads, not tasks: each call blocks in file system calls, as separate processes would.
        let secrets = await withTaskGroup(of: [UInt8]?.self) { group in
            for _ in 0..<16 {
                group.addTask { await Task.detached { try? SecretFile.randomBytes(at: path) }.value }
            }
            return await group.reduce(into: [[UInt8]?]()) { $0.append($1) }
        }
        #expect(secrets.allSatisfy { $0 != nil })
        #expect(Set(secrets.compactMap { $0 }).count == 1, "one secret for everyone")
        #expect(try SecretFile.randomBytes(at: path) == secrets.first!)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/keys").filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "no temporary files left behind")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }
}

@Suite("Password and email rules")
struct CredentialsTests {
    @Test(arguments: ["short1A", "alllowercase", "ALLUPPERCASE", "1234567890", String(repeating: "aB1", count: 25)])
    func weakPasswords(_ password: String) {
        #expect(throws: IdentityError.self) { try Credentials.checkPassword(password) }
    }

    @Test(arguments: ["Passw0rd", "correct horse battery", "ÄÖÜäöüß1", "12345678!"])
    func acceptablePasswords(_ password: String) throws {
        try Credentials.checkPassword(password)
    }

    @Test func emails() throws {
        #expect(try Credentials.normalizedEmail("  Ada@Example.COM ") == "ada@example.com")
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@.com", "a@b@c.com"] {
            #expect(throws: IdentityError.self, "\(bad)") { try Credentials.normalizedEmail(bad) }
        }
    }
}

/// A JWKS endpoint whose key set the test can swap, as an issuer rotating keys would.
final class JWKSHost: Sendable {
    let current: Mutex<String>
    init(_ json: String) { current = Mutex(json) }
    func set(_ json: String) { current.withLock { $0 = json } }
}

@Suite("TokenVerifier with a JWKS URL")
struct RemoteJWKSTests {
    @Test func fetchesKeysAndRefetchesOnAnUnknownKid() async throws {
        let first = try SigningKey.generate()
        let second = try SigningKey.generate()
        let host = JWKSHost(first.jwksJSON)
        let router = Router()
        router.get("pool/.well-known/jwks.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: host.current.withLock { $0 })))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let verifier = TokenVerifier(
                policy: TokenPolicy(issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool", clientId: "client"),
                source: .url("http://127.0.0.1:\(port)/pool/.well-known/jwks.json", HTTPClient.shared), refetchInterval: .zero)
            let issuerA = await LocalTokenIssuer(key: first, issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool", clientId: "client")
            let tokens = try await issuerA.issue(userId: "u1", email: "u@example.com", name: "U", groups: ["admin"], at: Date())
            let caller = try await verifier.verify(tokens.id)
            #expect(caller.userId == "u1")
            #expect(caller.isAdmin)
            #expect(try await verifier.verify(tokens.access).tokenUse == "access")

            // The issuer rotates to a new key: a token with the new kid makes the verifier refetch.
            host.set(second.jwksJSON)
            let issuerB = await LocalTokenIssuer(
                key: second, issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool", clientId: "client")
            let rotated = try await issuerB.issue(userId: "u2", email: "v@example.com", name: "V", groups: [], at: Date())
            #expect(try await verifier.verify(rotated.id).userId == "u2")
            #expect(try await verifier.verify(rotated.id).isAdmin == false)

            // A token from a key the issuer never published is refused.
            let stranger = await LocalTokenIssuer(
                key: try SigningKey.generate(), issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool", clientId: "client")
            let forged = try await stranger.issue(userId: "u3", email: "m@example.com", name: "M", groups: ["admin"], at: Date())
            await #expect(throws: IdentityError.self) { try await verifier.verify(forged.id) }
        }
    }

    @Test func preloadFetchesTheKeySetOnceBeforeAnyToken() async throws {
        let key = try SigningKey.generate()
        let fetches = Mutex(0)
        let router = Router()
        router.get("pool/.well-known/jwks.json") { _, _ in
            fetches.withLock { $0 += 1 }
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: key.jwksJSON)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let verifier = TokenVerifier(
                policy: TokenPolicy(issuer: "iss", clientId: "client"),
                source: .url("http://127.0.0.1:\(port)/pool/.well-known/jwks.json", HTTPClient.shared))
            #expect(await verifier.preload() == 1)
            #expect(fetches.withLock { $0 } == 1)
            let issuer = await LocalTokenIssuer(key: key, issuer: "iss", clientId: "client")
            let tokens = try await issuer.issue(userId: "u1", email: "u@example.com", name: "U", groups: [], at: Date())
            #expect(try await verifier.verify(tokens.id).userId == "u1")
            #expect(await verifier.preload() == 1)
            #expect(fetches.withLock { $0 } == 1, "neither the token nor a second preload fetched again")
        }
    }

    @Test func aFailingJWKSIsRetriedAtMostOnceASecond() async throws {
        let key = try SigningKey.generate()
        let fetches = Mutex(0)
        let router = Router()
        router.get("jwks.json") { _, _ in
            let count = fetches.withLock {
                $0 += 1
                return $0
            }
            return count == 1
                ? Response(status: .serviceUnavailable)
                : Response(
                    status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: key.jwksJSON)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let verifier = TokenVerifier(
                policy: TokenPolicy(issuer: "iss", clientId: "client"),
                source: .url("http://127.0.0.1:\(try #require(client.port))/jwks.json", HTTPClient.shared))
            let issuer = await LocalTokenIssuer(key: key, issuer: "iss", clientId: "client")
            let tokens = try await issuer.issue(userId: "u1", email: "u@example.com", name: "U", groups: [], at: Date())
            #expect(await verifier.preload() == 0)
            for _ in 0..<5 {
                await #expect(throws: IdentityError.self) { try await verifier.verify(tokens.id) }
            }
            #expect(fetches.withLock { $0 } == 1, "tokens right after a failed fetch do not fetch again")
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await verifier.verify(tokens.id).userId == "u1")
            #expect(fetches.withLock { $0 } == 2)
        }
    }

    @Test func anUnreachableJWKSRefusesTokens() async throws {
        let key = try SigningKey.generate()
        let verifier = TokenVerifier(
            policy: TokenPolicy(issuer: "iss", clientId: "client"),
            source: .url("http://127.0.0.1:9/jwks.json", HTTPClient.shared))
        let issuer = await LocalTokenIssuer(key: key, issuer: "iss", clientId: "client")
        let tokens = try await issuer.issue(userId: "u1", email: "u@example.com", name: "U", groups: [], at: Date())
        await #expect(throws: IdentityError.self) { try await verifier.verify(tokens.id) }
    }
}

@Suite("TokenVerifier with API Gateway authorizer claims")
struct AuthorizerClaimsTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let verifier = TokenVerifier(
        policy: TokenPolicy(issuer: "https://cognito-idp.us-east-1.amazonaws.com/pool", clientId: "client"),
        source: .keySet(#"{"keys":[]}"#), clock: WallClock { now })

    /// Claims as API Gateway's JWT authorizer hands them on: all strings, lists as `[a b]`.
    static func claims(_ changes: [String: String?] = [:]) -> [String: String] {
        var claims: [String: String] = [
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/pool", "sub": "user-1", "aud": "client", "token_use": "id",
            "cognito:groups": "[admin staff]", "email": "u@example.com", "iat": "1799999900", "exp": "1800000600",
        ]
        for (name, value) in changes { claims[name] = value }
        return claims
    }

    @Test func idTokenClaimsGiveTheCaller() throws {
        let caller = try Self.verifier.caller(fromAuthorizerClaims: Self.claims())
        #expect(caller == VerifiedCaller(userId: "user-1", email: "u@example.com", name: nil, groups: ["admin", "staff"], tokenUse: "id"))
        #expect(caller.isAdmin)
    }

    @Test func accessTokenClaimsUseClientId() throws {
        let caller = try Self.verifier.caller(
            fromAuthorizerClaims: Self.claims(["token_use": "access", "aud": nil, "client_id": "client", "cognito:groups": nil]))
        #expect(caller.userId == "user-1")
        #expect(caller.groups == [])
        #expect(!caller.isAdmin)
    }

    @Test(arguments: ["[]", "[user]", "user", "[administrators]"])
    func onlyTheAdminGroupMakesAnAdmin(_ groups: String) throws {
        #expect(try !Self.verifier.caller(fromAuthorizerClaims: Self.claims(["cognito:groups": groups])).isAdmin)
    }

    @Test(
        arguments: [
            ["iss": "https://cognito-idp.us-east-1.amazonaws.com/other-pool"],
            ["aud": "another-client"],
            ["token_use": "refresh"],
            ["token_use": "access"],  // an access token must carry client_id
            ["exp": "1799990000"],  // long expired
            ["exp": "soon"],
            ["iat": "1800009999"],  // issued in the future
            ["sub": ""],
            ["sub": nil],
            ["iss": nil],
        ] as [[String: String?]])
    func claimsOutsideThePolicyAreRefused(_ changes: [String: String?]) {
        #expect(throws: IdentityError.self) { try Self.verifier.caller(fromAuthorizerClaims: Self.claims(changes)) }
    }
}

@Suite("Local identity provider")
struct LocalIdentityTests {
    @Test func adminsAreInTheAdminGroupAndEmailsAreUnique() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("identity-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        let issuer = await LocalTokenIssuer(key: try SigningKey.generate(), issuer: "iss", clientId: "client")
        let provider = LocalIdentityProvider(users: store, issuer: issuer, bcryptCost: 4)
        let admin = try await provider.createAdmin(email: "Boss@Example.com", password: "Adm1nPassword", name: "Boss")
        #expect(admin.groups == [adminGroup])
        #expect(admin.email == "boss@example.com")
        await #expect(throws: IdentityError.emailTaken) {
            try await provider.createAdmin(email: "boss@example.com", password: "Adm1nPassword", name: "Boss")
        }
        let stored = try #require(try await store.user(email: "boss@example.com"))
        #expect(stored.passwordHash.hasPrefix("$2"), "a bcrypt hash")
        #expect(!stored.passwordHash.contains("Adm1nPassword"))
        let tokens = try await provider.login(email: "BOSS@example.com", password: "Adm1nPassword")
        let claims = try await JWTKeyCollection().add(jwksJSON: issuer.key.jwksJSON).verify(tokens.idToken, as: ShopClaims.self)
        #expect(claims.groups == [adminGroup])
        await #expect(throws: IdentityError.invalidCredentials) {
            try await provider.login(email: "boss@example.com", password: "wrong-Passw0rd")
        }
    }
}
