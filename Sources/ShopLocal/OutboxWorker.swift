import Logging
import ServiceLifecycle
import ShopAPI

/// `shop serve`'s outbox worker: plans the deliveries of new order events and sends what is due (emails, the webhook),
/// a moment after each change and never in the request that made it. A delivery claimed by a worker that died (a
/// `kill -9` between commit and send) is taken up again once its lease runs out.
public struct OutboxWorker: Service {
    let events: EventService
    let interval: Duration
    let logger: Logger

    public init(events: EventService, interval: Duration = .milliseconds(500), logger: Logger) {
        self.events = events
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await events.dispatchPending()
                    _ = try await events.deliverDue()
                } catch {
                    logger.error("outbox worker failed; trying again", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
