import Logging
import ServiceLifecycle
import ShopAPI

/// The sweep on a timer inside `shop serve`: expires overdue orders (returning their stock and closing
/// their payments) and retries refunds that are still due.
public struct ExpirySweeper: Service {
    let services: ShopServices
    let interval: Duration
    let logger: Logger

    public init(services: ShopServices, interval: Duration, logger: Logger) {
        self.services = services
        self.interval = interval
        self.logger = logger
    }

    /// Expired idempotency keys are dropped at most this often: on DynamoDB that is a whole-table scan.
    static let purgeInterval: Duration = .seconds(3600)

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastPurge: ContinuousClock.Instant?
            while !Task.isCancelled {
                do {
                    let purge = lastPurge.map { ContinuousClock.now - $0 >= Self.purgeInterval } ?? true
                    if purge { lastPurge = ContinuousClock.now }
                    let (expired, refunds) = try await services.sweep(logger: logger, purgeIdempotencyKeys: purge)
                    if expired > 0 { logger.info("expired overdue orders", metadata: ["count": "\(expired)"]) }
                    if refunds > 0 { logger.info("retried due refunds", metadata: ["count": "\(refunds)"]) }
                } catch {
                    logger.error("sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
