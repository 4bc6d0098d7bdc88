import Logging
import ServiceLifecycle
import ShopAPI

/// Expires overdue orders on a timer inside `shop serve`.
public struct ExpirySweeper: Service {
    let orders: OrderService
    let interval: Duration
    let logger: Logger

    public init(orders: OrderService, interval: Duration, logger: Logger) {
        self.orders = orders
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let expired = try await orders.expireDue(logger: logger)
                    if expired > 0 { logger.info("expired overdue orders", metadata: ["count": "\(expired)"]) }
                } catch {
                    logger.error("expiry sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
