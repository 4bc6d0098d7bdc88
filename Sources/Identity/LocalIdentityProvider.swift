import Crypto
import HummingbirdBcrypt
import NIOPosix
import ShopDomain
import ShopStorage
import ShopSupport
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Accounts kept in the embedded store: bcrypt password hashes, RS256 tokens from
/// `LocalTokenIssuer`, opaque refresh tokens stored as digests.
public struct LocalIdentityProvider: IdentityProvider {
    let users: any UserStore
    let issuer: LocalTokenIssuer
    let bcryptCost: UInt8
    let refreshLifetime: Duration
    let clock: WallClock
    /// Verified against when the email is unknown, so both failures take the same time. Hashed in
    /// the background: at cost 12 it takes about 300 ms, which would otherwise be every start's
    /// (and every Lambda cold start's) time; only a login that comes sooner waits for it.
    let decoyHash: Task<String, Never>
    /// Bounds the bcrypt work in flight, so a flood of logins is refused (503) rather than queued
    /// without end in front of a good one.
    let bcrypt: BcryptGate

    public init(
        users: any UserStore, issuer: LocalTokenIssuer, bcryptCost: UInt8 = 12,
        refreshLifetime: Duration = .seconds(30 * 24 * 3600), clock: WallClock = .system, bcryptInFlight: Int = 16
    ) {
        self.bcrypt = BcryptGate(limit: bcryptInFlight)
        self.users = users
        self.issuer = issuer
        self.bcryptCost = bcryptCost
        self.refreshLifetime = refreshLifetime
        self.clock = clock
        decoyHash = Task {
            let decoy = "decoy-password-never-matches"
            return (try? await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(decoy, cost: bcryptCost) })
                ?? Bcrypt.hash(decoy, cost: bcryptCost)
        }
    }

    public func register(email: String, password: String, name: String) async throws(IdentityError) -> Registration {
        .registered(try await create(email: email, password: password, name: name, groups: []))
    }

    public func createAdmin(email: String, password: String, name: String) async throws(IdentityError) -> UserProfile {
        try await create(email: email, password: password, name: name, groups: [adminGroup])
    }

    private func create(email: String, password: String, name: String, groups: [String]) async throws(IdentityError) -> UserProfile {
        let email = try Credentials.normalizedEmail(email)
        let name = try Credentials.normalizedName(name)
        try Credentials.checkPassword(password)
        let cost = bcryptCost
        let hash = try await bcrypt.run { Bcrypt.hash(password, cost: cost) }
        let now = clock.now()
        let user = UserRecord(id: Identifier.make(at: now), email: email, name: name, passwordHash: hash, groups: groups, createdAt: now)
        do {
            try await users.createUser(user)
        } catch .emailTaken {
            throw .emailTaken
        } catch {
            throw .backend("\(error)")
        }
        return UserProfile(userId: user.id, email: email, name: name, groups: groups)
    }

    public func confirm(email: String, code: String) async throws(IdentityError) {
        // Local accounts are confirmed when they are created; there is never a code to check.
        throw .invalidCode
    }

    public func login(email: String, password: String) async throws(IdentityError) -> AuthTokens {
        let normalized = (try? Credentials.normalizedEmail(email)) ?? ""
        let user = normalized.isEmpty ? nil : try await storage { () throws(StorageError) in try await users.user(email: normalized) }
        let hash: String
        if let stored = user?.passwordHash { hash = stored } else { hash = await decoyHash.value }
        let matches = try await bcrypt.run { Bcrypt.verify(password, hash: hash) }
        guard let user, matches else { throw .invalidCredentials }
        var refresh = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in refresh.indices { refresh[i] = rng.next() }
        let refreshToken = Data(refresh).base64URLEncoded()
        let now = clock.now()
        try await storage { () throws(StorageError) in
            try await users.saveRefreshToken(
                digest: Self.digest(refreshToken), userId: user.id, expiresAt: now.addingTimeInterval(refreshLifetime.seconds), now: now)
        }
        return try await tokens(for: user, refreshToken: refreshToken)
    }

    public func refresh(refreshToken: String) async throws(IdentityError) -> AuthTokens {
        let now = clock.now()
        guard
            let userId = try await storage({ () throws(StorageError) in
                try await users.refreshTokenOwner(digest: Self.digest(refreshToken), now: now)
            }),
            let user = try await storage({ () throws(StorageError) in try await users.user(id: userId) })
        else { throw .invalidToken("unknown or expired refresh token") }
        return try await tokens(for: user, refreshToken: refreshToken)
    }

    public func logout(refreshToken: String, caller: VerifiedCaller) async throws(IdentityError) {
        let digest = Self.digest(refreshToken)
        guard try await storage({ () throws(StorageError) in try await users.deleteRefreshToken(digest: digest, userId: caller.userId) })
        else {
            throw .invalidToken("refresh token unknown, expired or another user's")
        }
    }

    public func profile(of caller: VerifiedCaller) async throws(IdentityError) -> UserProfile {
        guard let user = try await storage({ () throws(StorageError) in try await users.user(id: caller.userId) }) else {
            throw .userNotFound
        }
        return UserProfile(userId: user.id, email: user.email, name: user.name, groups: user.groups)
    }

    private func tokens(for user: UserRecord, refreshToken: String) async throws(IdentityError) -> AuthTokens {
        do {
            let (id, access) = try await issuer.issue(
                userId: user.id, email: user.email, name: user.name, groups: user.groups, at: clock.now())
            return AuthTokens(idToken: id, accessToken: access, refreshToken: refreshToken, expiresIn: Int(issuer.lifetime.seconds))
        } catch {
            throw .backend("signing: \(error)")
        }
    }

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).hexEncoded
    }

    private func storage<T>(_ body: () async throws(StorageError) -> T) async throws(IdentityError) -> T {
        do {
            return try await body()
        } catch {
            throw .backend("\(error)")
        }
    }
}

/// At most `limit` bcrypt operations at once, run on NIO's thread pool (never the cooperative pool). One
/// more is refused at once with `.unavailable`: with the pool's one thread per core, a good login then
/// waits for at most `limit / cores` bcrypt runs ahead of it, however many bad ones arrive.
///
/// `reserved` of the slots are kept for callers with a clean record (`cleanRecord`, set by the sign-in
/// limits for a client address that has not failed a login lately): a flood of bad logins from addresses
/// that keep failing fills only the shared slots, and a real shopper's sign-in still finds one.
public final class BcryptGate: Sendable {
    let limit: Int
    let reserved: Int
    private let inFlight = Mutex(0)

    /// Whether the caller has a clean record (true unless the sign-in limits say otherwise).
    @TaskLocal public static var cleanRecord = true

    /// Password checks admitted and not finished (queued for a thread, or running).
    public var inFlightCount: Int { inFlight.withLock { $0 } }

    public init(limit: Int, reserved: Int? = nil) {
        self.limit = max(1, limit)
        self.reserved = min(self.limit - 1, max(0, reserved ?? self.limit / 4))
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws(IdentityError) -> T {
        let ceiling = Self.cleanRecord ? limit : limit - reserved
        let admitted = inFlight.withLock { count -> Bool in
            guard count < ceiling else { return false }
            count += 1
            return true
        }
        guard admitted else { throw .unavailable("more than \(ceiling) password checks in flight") }
        defer { inFlight.withLock { $0 -= 1 } }
        do {
            return try await NIOThreadPool.singleton.runIfActive(work)
        } catch {
            throw .backend("bcrypt: \(error)")
        }
    }
}
