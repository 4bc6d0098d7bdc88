import Crypto
import CryptoExtras
import JWTKit
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The local identity's signing key: RSA 2048, kept as PEM in the data directory (mode 0600).
public struct SigningKey: Sendable {
    public let privateKey: JWTKit.Insecure.RSA.PrivateKey
    /// Key id: a digest of the public key, so it changes when the key does.
    public let kid: String
    let modulus: String
    let exponent: String

    public init(pem: String) throws {
        let backing = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        privateKey = try JWTKit.Insecure.RSA.PrivateKey(pem: pem)
        let primitives = try backing.publicKey.getKeyPrimitives()
        modulus = primitives.modulus.base64URLEncoded()
        exponent = primitives.publicExponent.base64URLEncoded()
        kid = String(Data(SHA256.hash(data: backing.publicKey.derRepresentation)).base64URLEncoded().prefix(16))
    }

    /// A fresh key (tests and first start).
    public static func generate() throws -> SigningKey {
        try SigningKey(pem: _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation)
    }

    /// Loads the key at `path`, or creates it there with owner-only permissions.
    public static func loadOrCreate(at path: String) throws -> SigningKey {
        let pem = try SecretFile.loadOrCreate(at: path) {
            Data(try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation.utf8)
        }
        return try SigningKey(pem: String(decoding: pem, as: UTF8.self))
    }

    /// The public half as a JWKS document.
    public var jwksJSON: String {
        #"{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":"\#(kid)","n":"\#(modulus)","e":"\#(exponent)"}]}"#
    }
}

/// The claims of the tokens this project issues and accepts, named as Cognito names them.
public struct ShopClaims: JWTPayload, Equatable {
    public var iss: String
    public var sub: String
    public var aud: String?
    public var clientId: String?
    public var tokenUse: String
    public var groups: [String]?
    public var email: String?
    public var name: String?
    public var username: String?
    public var exp: Double
    public var iat: Double
    public var authTime: Double?
    public var jti: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, email, name, username, exp, iat, jti
        case clientId = "client_id"
        case tokenUse = "token_use"
        case groups = "cognito:groups"
        case authTime = "auth_time"
    }

    /// Read, never written: local tokens carry `username`.
    enum CognitoKeys: String, CodingKey {
        case username = "cognito:username"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iss = try c.decode(String.self, forKey: .iss)
        sub = try c.decode(String.self, forKey: .sub)
        // `aud` may be a string or an array of strings (RFC 7519 4.1.3).
        if let single = try? c.decodeIfPresent(String.self, forKey: .aud) {
            aud = single
        } else if let many = try? c.decodeIfPresent([String].self, forKey: .aud) {
            aud = many.count == 1 ? many[0] : nil
        } else {
            aud = nil
        }
        clientId = try c.decodeIfPresent(String.self, forKey: .clientId)
        tokenUse = try c.decode(String.self, forKey: .tokenUse)
        groups = try c.decodeIfPresent([String].self, forKey: .groups)
        email = try c.decodeIfPresent(String.self, forKey: .email)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        // Cognito's access tokens say `username`, its id tokens `cognito:username`.
        username =
            try c.decodeIfPresent(String.self, forKey: .username)
            ?? decoder.container(keyedBy: CognitoKeys.self).decodeIfPresent(String.self, forKey: .username)
        exp = try c.decode(Double.self, forKey: .exp)
        iat = try c.decode(Double.self, forKey: .iat)
        authTime = try c.decodeIfPresent(Double.self, forKey: .authTime)
        jti = try c.decodeIfPresent(String.self, forKey: .jti)
    }

    public init(
        iss: String, sub: String, aud: String? = nil, clientId: String? = nil, tokenUse: String, groups: [String]? = nil,
        email: String? = nil, name: String? = nil, username: String? = nil, exp: Double, iat: Double,
        authTime: Double? = nil, jti: String? = nil
    ) {
        self.iss = iss
        self.sub = sub
        self.aud = aud
        self.clientId = clientId
        self.tokenUse = tokenUse
        self.groups = groups
        self.email = email
        self.name = name
        self.username = username
        self.exp = exp
        self.iat = iat
        self.authTime = authTime
        self.jti = jti
    }

    /// Time-based checks happen in `TokenVerifier`, against its injected clock.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Signs id and access tokens for the local identity provider.
public struct LocalTokenIssuer: Sendable {
    public let key: SigningKey
    public let issuer: String
    public let clientId: String
    public let lifetime: Duration
    let keys: JWTKeyCollection

    public init(key: SigningKey, issuer: String, clientId: String, lifetime: Duration = .seconds(3600)) async {
        self.key = key
        self.issuer = issuer
        self.clientId = clientId
        self.lifetime = lifetime
        keys = await JWTKeyCollection().add(rsa: key.privateKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
    }

    /// An id token and an access token for `user`, issued at `now`.
    public func issue(userId: String, email: String, name: String, groups: [String], at now: Date) async throws -> (
        id: String, access: String
    ) {
        let iat = now.timeIntervalSince1970.rounded(.down)
        let exp = iat + lifetime.seconds
        var header = JWTHeader()
        header.alg = "RS256"
        header.typ = "JWT"
        header.kid = key.kid
        let id = ShopClaims(
            iss: issuer, sub: userId, aud: clientId, tokenUse: "id", groups: groups, email: email, name: name,
            exp: exp, iat: iat, authTime: iat, jti: UUID().uuidString.lowercased())
        let access = ShopClaims(
            iss: issuer, sub: userId, clientId: clientId, tokenUse: "access", groups: groups, username: userId,
            exp: exp, iat: iat, authTime: iat, jti: UUID().uuidString.lowercased())
        return (
            try await keys.sign(id, kid: JWKIdentifier(string: key.kid), header: header),
            try await keys.sign(access, kid: JWKIdentifier(string: key.kid), header: header)
        )
    }
}
