/// How often, and how far apart, retryable errors of an outside service (AWS, the payment gateway) are retried.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first one included; 1 means no retry.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int, baseDelay: Duration, maxDelay: Duration) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// 5 attempts, 25 ms base, 2 s cap, exponential backoff with full jitter.
    public static let `default` = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(25), maxDelay: .seconds(2))

    /// One attempt, no retry.
    public static let none = RetryPolicy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero)

    /// The largest wait before retry number `retry` (1 for the first retry): `min(maxDelay, baseDelay * 2^(retry-1))`.
    public func delayCeiling(beforeRetry retry: Int) -> Duration {
        let doublings = min(max(retry - 1, 0), 40)
        let ceiling = Self.nanoseconds(baseDelay) * Double(UInt64(1) << UInt64(doublings))
        return .nanoseconds(Int64(min(ceiling, Self.nanoseconds(maxDelay))))
    }

    /// Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in `0...delayCeiling(beforeRetry:)`,
    /// so clients that failed together do not retry together.
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = Int64(Self.nanoseconds(delayCeiling(beforeRetry: retry)))
        guard ceiling > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...ceiling, using: &generator))
    }

    public static func nanoseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    }
}
