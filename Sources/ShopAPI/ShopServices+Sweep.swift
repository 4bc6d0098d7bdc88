import Logging
import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension ShopServices {
    /// One pass of the sweep: send the refunds that are still due, then expire overdue orders (returning their
    /// stock and closing their payments). Refunds go first, with their own bounded batch: a backlog of orders to
    /// expire can use up a function's time, and money owed back must not wait behind it.
    public func sweep(logger: Logger? = nil, purgeIdempotencyKeys: Bool = true) async throws(APIError) -> (
        expired: Int, refundsRetried: Int
    ) {
        // Orders are expired even when retrying refunds failed, and the other way round.
        let refunds: Result<Int, APIError>
        do { refunds = .success(try await payments.retryDueRefunds()) } catch { refunds = .failure(error) }
        let expired = try await orders.expireDue(logger: logger, purgeIdempotencyKeys: purgeIdempotencyKeys)
        return (expired, try refunds.get())
    }

    /// The outbox's part of the sweep on AWS: events the stream's function could not dispatch (it failed for good and
    /// sent them to the dead-letter queue) are published and dispatched once they are `grace` old, and due
    /// deliveries (retries) are sent. `publish` puts an event on the bus.
    public func sweepOutbox(
        grace: Duration = .seconds(300), until: Date? = nil, publish: (@Sendable (OrderEvent) async throws -> Void)?
    ) async throws(StorageError) -> (dispatched: Int, delivered: Int) {
        let before = events.clock.now().addingTimeInterval(-grace.seconds)
        let dispatched = try await events.dispatchPending(before: before, publish: publish)
        let delivered = try await events.deliverDue(until: until)
        return (dispatched, delivered)
    }
}
