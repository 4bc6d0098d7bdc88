#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird
import ShopDomain
import ShopSupport
import Synchronization

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
        let now = clock.now()
        let rate = Double(perMinute) / 60
        return buckets.withLock { buckets -> Duration? in
            var bucket = buckets[key] ?? Bucket(tokens: Double(burst), updated: now)
            bucket.tokens = min(Double(burst), bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * rate)
            bucket.updated = now
            defer {
                let isNew = buckets[key] == nil
                buckets[key] = bucket
                if isNew && buckets.count > capacity { evict(&buckets, now: now, rate: rate) }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .seconds(max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
        }
    }
}

/// The abuse limits of the sign-in routes (`SHOP_AUTH_RATE_LIMIT_PER_MINUTE`,
/// `SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE`, `SHOP_TRUST_FORWARDED_FOR`); nil limiters are off.
public struct AbuseLimits: Sendable {
    /// Per client address, on `/auth/login`, `/auth/register`, `/auth/refresh` and `/auth/confirm`.
    public var perAddress: RateLimiter?
    /// Per account (the email) on `/auth/login`.
    public var perAccount: RateLimiter?
    /// Take the client address from the right-most `X-Forwarded-For` entry (only behind a proxy you run).
    public var trustForwardedFor: Bool

    public init(perAddress: RateLimiter?, perAccount: RateLimiter?, trustForwardedFor: Bool) {
        self.perAddress = perAddress
        self.perAccount = perAccount
        self.trustForwardedFor = trustForwardedFor
    }

    public static let off = AbuseLimits(perAddress: nil, perAccount: nil, trustForwardedFor: false)

    static func refusal(_ wait: Duration, what: String) -> APIError {
        let seconds = wait.components.seconds
        return APIError(
            .tooManyRequests, "rate_limited", "Too many \(what); try again in \(seconds) s.", headers: [.retryAfter: String(seconds)])
    }
}

/// Refuses sign-in requests over the per-address limit with 429 and `Retry-After`. A request whose client
/// address is unknown (the router tests, a Lambda invocation) is not limited.
struct AddressRateLimitMiddleware<Context: ShopRequestContext>: RouterMiddleware {
    let limits: AbuseLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let limiter = limits.perAddress, let address = clientAddress(request, context: context) else {
            return try await next(request, context)
        }
        if let wait = limiter.take(address) {
            context.logger.notice("sign-in rate limit", metadata: ["client": "\(address)", "path": "\(request.uri.path)"])
            throw AbuseLimits.refusal(wait, what: "sign-in requests from your address")
        }
        return try await next(request, context)
    }

    func clientAddress(_ request: Request, context: Context) -> String? {
        if limits.trustForwardedFor, let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!],
            let last = forwarded.split(separator: ",").last?.trimmingWhitespace(), !last.isEmpty
        {
            return last
        }
        return context.shop.clientAddress
    }
}
