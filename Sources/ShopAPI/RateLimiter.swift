import HTTPTypes
import Hummingbird
import Identity
import ShopDomain
import ShopSupport
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A token bucket per key (a client address, an account): `perMinute` requests a minute, in bursts of
/// at most `burst` (5 by default: one address can never fill the bounded bcrypt work by itself). Counters live in this process: right for `shop serve`; in Lambda, API Gateway's
/// route throttling and Cognito's own limits do this job.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Date
    }

    public let perMinute: Int
    public let burst: Int
    let clock: WallClock
    private let buckets = Mutex<[String: Bucket]>([:])
    /// Buckets kept at most; full ones are dropped first when there are more.
    let capacity = 10_000

    public init(perMinute: Int, burst: Int = 5, clock: WallClock = .system) {
        self.perMinute = perMinute
        self.burst = max(1, min(burst, perMinute))
        self.clock = clock
    }

    /// Drops the buckets that have refilled (as good as new), then, if still too many, the least recently used.
    private func evict(_ buckets: inout [String: Bucket], now: Date, rate: Double) {
        buckets = buckets.filter { $0.value.tokens + max(0, now.timeIntervalSince($0.value.updated)) * rate < Double(burst) }
        if buckets.count > capacity {
            let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count - capacity / 2)
            for (key, _) in oldest { buckets[key] = nil }
        }
    }

    /// Takes one token for `key`; nil if allowed, else how long until one is there.
    public func take(_ key: String) -> Duration? {
        update(key) { bucket, rate in
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return Self.wait(for: bucket, rate: rate)
        }
    }

    /// Whether `key` has a token, without taking it: nil if so, else how long until one is there.
    public func peek(_ key: String) -> Duration? {
        update(key) { bucket, rate in bucket.tokens >= 1 ? nil : Self.wait(for: bucket, rate: rate) }
    }

    /// Gives back a token taken for an attempt that turned out not to count (a login that succeeded).
    public func giveBack(_ key: String) {
        update(key) { bucket, _ in bucket.tokens = min(Double(burst), bucket.tokens + 1) }
    }

    /// Whether `key` has used none of its budget lately (its bucket is full, or was dropped as full).
    public func isUntouched(_ key: String) -> Bool {
        update(key) { bucket, _ in bucket.tokens >= Double(burst) }
    }

    static func wait(for bucket: Bucket, rate: Double) -> Duration {
        .seconds(max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
    }

    /// Refills `key`'s bucket to now and hands it to `body`; a bucket left full is not kept (it is as good as new).
    private func update<T>(_ key: String, _ body: (inout Bucket, Double) -> T) -> T {
        let now = clock.now()
        let rate = Double(perMinute) / 60
        return buckets.withLock { buckets -> T in
            var bucket = buckets[key] ?? Bucket(tokens: Double(burst), updated: now)
            bucket.tokens = min(Double(burst), bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate)
            bucket.updated = now
            let result = body(&bucket, rate)
            if bucket.tokens >= Double(burst) {
                buckets[key] = nil
            } else {
                let isNew = buckets[key] == nil
                buckets[key] = bucket
                if isNew && buckets.count > capacity { evict(&buckets, now: now, rate: rate) }
            }
            return result
        }
    }
}

/// The abuse limits of the sign-in routes (docs/API.md, "Sign-in limits"); nil limiters are off.
///
/// Failed logins are counted per account *and* client address, and only those refuse: a correct password
/// from an address that has not failed always gets through, however many others fail for that account.
/// Failures for one account from every address only slow its logins down (`accountSlowdown`), never refuse
/// them, so nobody can lock an owner out by knowing their email. Addresses are counted by `IPAddress.clientKey`
/// (an IPv6 client by its /64).
public struct AbuseLimits: Sendable {
    /// Every sign-in request per client address, on `/auth/login`, `/auth/register`, `/auth/refresh` and `/auth/confirm`.
    public var perAddress: RateLimiter?
    /// Failed logins per (account, client address): the one limit that refuses a login (429).
    public var failedLogins: RateLimiter?
    /// Failed logins per account from every address; once its budget is spent, each login for the account
    /// waits `accountDelay` first.
    public var accountSlowdown: RateLimiter?
    public var accountDelay: Duration = .seconds(1)
    /// Addresses whose login failed lately; their password checks use only the shared bcrypt slots, never
    /// the ones kept for clients with a clean record (`BcryptGate`).
    public var recentFailures: RateLimiter?
    /// Peers whose `X-Forwarded-For` is believed (`SHOP_TRUSTED_PROXIES`, with `SHOP_TRUST_FORWARDED_FOR`); empty: none.
    public var trustedProxies: [CIDRBlock]

    public init(
        perAddress: RateLimiter?, failedLogins: RateLimiter?, accountSlowdown: RateLimiter? = nil, recentFailures: RateLimiter? = nil,
        trustedProxies: [CIDRBlock] = []
    ) {
        self.perAddress = perAddress
        self.failedLogins = failedLogins
        self.accountSlowdown = accountSlowdown
        self.recentFailures = recentFailures
        self.trustedProxies = trustedProxies
    }

    /// The limits for these settings: `failedPerMinute` failed logins a minute per account and address (in bursts of at
    /// most 5), ten times that per account before logins slow down, and a failure remembered against its address for
    /// as long as a limit of one a minute takes to refill.
    public static func signIn(perAddressPerMinute: Int, failedPerMinute: Int, trustedProxies: [CIDRBlock], clock: WallClock) -> AbuseLimits
    {
        AbuseLimits(
            perAddress: perAddressPerMinute > 0 ? RateLimiter(perMinute: perAddressPerMinute, clock: clock) : nil,
            failedLogins: failedPerMinute > 0 ? RateLimiter(perMinute: failedPerMinute, clock: clock) : nil,
            accountSlowdown: failedPerMinute > 0 ? RateLimiter(perMinute: 10 * failedPerMinute, burst: 50, clock: clock) : nil,
            recentFailures: RateLimiter(perMinute: 1, burst: 5, clock: clock), trustedProxies: trustedProxies)
    }

    public static let off = AbuseLimits(perAddress: nil, failedLogins: nil)

    static func refusal(_ wait: Duration, what: String) -> APIError {
        let seconds = wait.components.seconds
        return APIError(
            .tooManyRequests, "rate_limited", "Too many \(what); try again in \(seconds) s.", headers: [.retryAfter: String(seconds)])
    }

    /// Who is calling, as the limits count them: the socket peer's key, or, when the peer is a trusted proxy,
    /// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Nil when the host knows no
    /// address (the router tests, a Lambda invocation), which is never limited.
    public func clientKey(peer: String?, forwardedFor: String?) -> String? {
        guard let peer else { return nil }
        guard let peerAddress = IPAddress(peer) else { return peer }
        if !trustedProxies.isEmpty, isTrustedProxy(peerAddress), let forwardedFor {
            for entry in forwardedFor.split(separator: ",").reversed() {
                guard let address = IPAddress(entry.trimmingWhitespace()) else { break }
                if !isTrustedProxy(address) { return address.clientKey }
            }
        }
        return peerAddress.clientKey
    }

    func isTrustedProxy(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }

    func clientKey<Context: ShopRequestContext>(_ request: Request, context: Context) -> String? {
        clientKey(peer: context.shop.clientAddress, forwardedFor: request.headers[HTTPField.Name("X-Forwarded-For")!])
    }

    public static func pairKey(account: String, client: String) -> String { account + "\u{1f}" + client }
}

/// Refuses sign-in requests over the per-address limit with 429 and `Retry-After`, and runs the rest in the bcrypt
/// slot class their address has earned. A request whose client address is unknown is not limited.
struct AddressRateLimitMiddleware<Context: ShopRequestContext>: RouterMiddleware {
    let limits: AbuseLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let client = limits.clientKey(request, context: context) else { return try await next(request, context) }
        if let limiter = limits.perAddress, let wait = limiter.take(client) {
            context.logger.notice("sign-in rate limit", metadata: ["client": "\(client)", "path": "\(request.uri.path)"])
            throw AbuseLimits.refusal(wait, what: "sign-in requests from your address")
        }
        let clean = limits.recentFailures?.isUntouched(client) ?? true
        return try await BcryptGate.$cleanRecord.withValue(clean) { try await next(request, context) }
    }
}
