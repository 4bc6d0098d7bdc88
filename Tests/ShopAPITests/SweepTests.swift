import Foundation
import SQLiteStore
import ShopAPI
import ShopDomain
import ShopStorage
import Synchronization
import Testing

/// An order store whose due-orders index lags, as DynamoDB's `Due` index can: it keeps listing orders
/// that were moved already. Everything else is the SQLite store's.
final class LaggingIndexStore: OrderStore {
    let inner: SQLiteStore
    let stale: [Order]
    let dueCalls = Mutex(0)
    let purges = Mutex(0)
    /// Refunds still due each time the sweep asked for due orders.
    let refundsDueAtExpiry = Mutex<[Int]>([])

    init(inner: SQLiteStore, stale: [Order]) {
        self.inner = inner
        self.stale = stale
    }

    func dueOrders(now: Date, limit: Int) async throws(StorageError) -> [Order] {
        dueCalls.withLock { $0 += 1 }
        let due = try await inner.paymentsWithRefundDue(limit: 100).count
        refundsDueAtExpiry.withLock { $0.append(due) }
        return Array(stale.prefix(limit))
    }
    func placeOrder(_ order: Order, claim: IdempotencyClaim?, maxOpenOrders: Int?, at now: Date) async throws(StorageError)
        -> PlaceOrderOutcome
    {
        try await inner.placeOrder(order, claim: claim, maxOpenOrders: maxOpenOrders, at: now)
    }
    func order(id: String) async throws(StorageError) -> Order? { try await inner.order(id: id) }
    func idempotencyRecord(userId: String, key: String, at now: Date) async throws(StorageError) -> IdempotencyRecord? {
        try await inner.idempotencyRecord(userId: userId, key: key, at: now)
    }
    func listOrders(userId: String?, status: OrderStatus?, limit: Int, after: String?) async throws(StorageError) -> Page<Order> {
        try await inner.listOrders(userId: userId, status: status, limit: limit, after: after)
    }
    func transitionOrder(
        id: String, from: Set<OrderStatus>, to: OrderStatus, expiredBy: Date?, cancelledBy: CancelledBy?, at now: Date
    ) async throws(StorageError) -> Order {
        try await inner.transitionOrder(id: id, from: from, to: to, expiredBy: expiredBy, cancelledBy: cancelledBy, at: now)
    }
    func fulfilOrder(id: String, shipment: Shipment, at now: Date) async throws(StorageError) -> Order {
        try await inner.fulfilOrder(id: id, shipment: shipment, at: now)
    }
    func purgeIdempotencyRecords(before now: Date) async throws(StorageError) -> Int {
        purges.withLock { $0 += 1 }
        return try await inner.purgeIdempotencyRecords(before: now)
    }
}

@Suite("Sweep")
struct SweepTests {
    @Test func aLaggingIndexDoesNotMakeTheSweepSpin() async throws {
        let shop = try await TestShop(orderTTL: 60)
        defer { shop.cleanUp() }
        let product = try await shop.product(quantity: 500)
        // 150 orders, expired and already cancelled, that the lagging index still lists as due.
        var stale: [Order] = []
        for i in 0..<150 {
            let order = try await shop.services.orders.place(
                userId: "u\(i % 7)", request: TestShop.request([OrderRequest.Line(productId: product.id, quantity: 1)]), idempotencyKey: nil
            )
            _ = try await shop.store.transitionOrder(
                id: order.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: shop.clock.now)
            stale.append(order)
        }
        shop.clock.advance(by: 120)
        let lagging = LaggingIndexStore(inner: shop.store, stale: stale)
        let orders = OrderService(orders: lagging, catalog: shop.store, clock: shop.clock.wallClock)
        #expect(try await orders.expireDue() == 0)
        #expect(lagging.dueCalls.withLock { $0 } <= 2, "a pass that moves nothing ends the sweep")
        #expect(lagging.purges.withLock { $0 } == 1)
        _ = try await orders.expireDue(purgeIdempotencyKeys: false)
        #expect(lagging.purges.withLock { $0 } == 1, "the whole-table purge only when asked for")
        #expect(try await shop.stock(product.id) == 500, "stock came back once, by the cancels")
    }

    /// Money owed back never waits behind a backlog of orders to expire (a function's 60 s can run out on those):
    /// the sweep sends due refunds first.
    @Test func theSweepSendsRefundsBeforeItExpiresOrders() async throws {
        let shop = try await TestShop(orderTTL: 60)
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await PaymentRoutesTests.checkout(shop, c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)
            await shop.deliver()
            _ = try await c.send(.post, "/orders/\(x.orderId)/cancel", token: x.shopper.accessToken)
            await shop.deliver()
            // The refund fails at the bank: due again, for the sweep.
            try await shop.simulator.failRefund(id: try #require(try await shop.simulator.refundIds(paymentId: x.paymentId).first))
            await shop.deliver()
            #expect(try await shop.store.paymentsWithRefundDue(limit: 10).count == 1)
            let lagging = LaggingIndexStore(inner: shop.store, stale: [])
            var services = shop.services
            services.orders = OrderService(orders: lagging, catalog: shop.store, clock: shop.clock.wallClock)
            let swept = try await services.sweep(purgeIdempotencyKeys: false)
            #expect(swept.refundsRetried == 1)
            #expect(lagging.refundsDueAtExpiry.withLock { $0 } == [0], "the refund was sent before any order was expired")
        }
    }
}
