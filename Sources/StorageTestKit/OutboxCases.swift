import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    static func events(_ s: StoreHarness, _ orderId: String) async throws -> [OrderEventRecord] {
        try await s.outbox.orderEvents(orderId: orderId).map(\.record)
    }

    static let outboxCases: [Case] = [
        Case(name: "every order change writes its event in the same step, in order, with the order's email") { s in
            let p = makeProduct(quantity: 10)
            try await s.catalog.createProduct(p)
            var order = makeOrder(products: [(p, 2)])
            order.email = "shopper@example.com"
            _ = try await s.orders.placeOrder(order, claim: nil, at: t0)
            #expect(try await s.orders.order(id: order.id)?.email == "shopper@example.com")
            let payment = makePayment(for: order)
            try await s.orders.createPayment(payment)
            _ = try await s.orders.payOrder(orderId: order.id, paymentId: payment.id, at: at(10))
            let shipment = Shipment(carrier: "UPS", trackingNumber: "1Z999", trackingUrl: nil, shippedAt: at(20))
            _ = try await s.orders.fulfilOrder(id: order.id, shipment: shipment, at: at(20))
            let recorded = try await events(s, order.id)
            #expect(recorded.map(\.type) == [.placed, .paid, .fulfilled])
            #expect(recorded.map(\.occurredAt) == [t0, at(10), at(20)])
            #expect(recorded.map(\.status) == [.pendingPayment, .paid, .fulfilled])
            #expect(recorded.allSatisfy { $0.userId == order.userId && $0.orderId == order.id })
            #expect(recorded.map(\.id) == recorded.map { "evt_\(order.id)_\($0.key)" })
            // Undispatched, oldest first.
            let pending = try await s.outbox.undispatchedEvents(limit: 10).map(\.record)
            #expect(pending == recorded)
        },
        Case(name: "a change that does not commit writes no event") { s in
            let p = makeProduct(quantity: 1)
            try await s.catalog.createProduct(p)
            let order = makeOrder(products: [(p, 5)])
            await #expect(throws: StorageError.self) { _ = try await s.orders.placeOrder(order, claim: nil, at: t0) }
            #expect(try await events(s, order.id).isEmpty)
            let ok = makeOrder(products: [(p, 1)], at: at(1))
            _ = try await s.orders.placeOrder(ok, claim: nil, at: at(1))
            _ = try await s.orders.transitionOrder(
                id: ok.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, cancelledBy: .shopper, at: at(2))
            // A second cancel is refused, and writes nothing.
            await #expect(throws: StorageError.invalidTransition(current: .cancelled)) {
                _ = try await s.orders.transitionOrder(
                    id: ok.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, cancelledBy: .admin, at: at(3))
            }
            let recorded = try await events(s, ok.id)
            #expect(recorded.map(\.type) == [.placed, .cancelled])
            #expect(recorded.last?.cancelledBy == .shopper)
            #expect(recorded.last?.previousStatus == .pendingPayment)
            #expect(try await s.outbox.undispatchedEvents(limit: 10).map(\.record.orderId) == [ok.id, ok.id])
        },
        Case(name: "expiry and a paid cancel say who cancelled and what the order was; a refund is its own event") { s in
            let (_, order, payment) = try await orderWithPayment(s)
            _ = try await s.orders.payOrder(orderId: order.id, paymentId: payment.id, at: at(10))
            _ = try await s.orders.transitionOrder(
                id: order.id, from: [.pendingPayment, .paid], to: .cancelled, expiredBy: nil, cancelledBy: .admin, at: at(20))
            _ = try await s.orders.recordRefund(paymentId: payment.id, refundedAmount: order.total, at: at(30))
            // Recording the same total again changes nothing and writes no second event.
            _ = try await s.orders.recordRefund(paymentId: payment.id, refundedAmount: order.total, at: at(31))
            let recorded = try await events(s, order.id)
            #expect(recorded.map(\.type) == [.placed, .paid, .cancelled, .refunded])
            #expect(recorded[2].cancelledBy == .admin)
            #expect(recorded[2].previousStatus == .paid)
            #expect(recorded[3].refundAmount == order.total)
            #expect(recorded[3].refundedTotal == order.total)
            #expect(recorded[3].status == nil)

            let p2 = makeProduct(quantity: 3)
            try await s.catalog.createProduct(p2)
            let stale = makeOrder(products: [(p2, 1)], at: t0, ttl: 60)
            _ = try await s.orders.placeOrder(stale, claim: nil, at: t0)
            _ = try await s.orders.transitionOrder(id: stale.id, from: [.pendingPayment], to: .cancelled, expiredBy: at(120), at: at(120))
            #expect(try await events(s, stale.id).last?.cancelledBy == .expiry)
        },
        Case(name: "dispatch plans deliveries once; a delivery moves only from what its worker read") { s in
            let p = makeProduct(quantity: 10)
            try await s.catalog.createProduct(p)
            let order = makeOrder(products: [(p, 1)])
            _ = try await s.orders.placeOrder(order, claim: nil, at: t0)
            let key = OrderEventRecord.Key.placed
            let email = EventDelivery(name: "email:order-confirmation", recipient: "a@example.com", nextAttemptAt: at(5), createdAt: at(5))
            let hook = EventDelivery(name: EventDelivery.webhookName, recipient: nil, nextAttemptAt: at(6), createdAt: at(5))
            #expect(try await s.outbox.dispatchEvent(orderId: order.id, key: key, deliveries: [email, hook], at: at(5)))
            #expect(try await s.outbox.dispatchEvent(orderId: order.id, key: key, deliveries: [email], at: at(6)) == false)
            #expect(try await s.outbox.undispatchedEvents(limit: 10).isEmpty)
            await #expect(throws: StorageError.notFound) {
                _ = try await s.outbox.dispatchEvent(orderId: order.id, key: "9", deliveries: [], at: at(6))
            }
            let stored = try #require(try await s.outbox.orderEvents(orderId: order.id).first)
            #expect(stored.dispatched)
            #expect(stored.deliveries == [email, hook])

            // Due: by time, earliest first.
            #expect(try await s.outbox.dueDeliveries(now: at(4), limit: 10).isEmpty)
            #expect(try await s.outbox.dueDeliveries(now: at(5), limit: 10).map(\.delivery.name) == [email.name])
            let due = try await s.outbox.dueDeliveries(now: at(10), limit: 10)
            #expect(due.map(\.delivery.name) == [email.name, hook.name])
            #expect(due.first?.event == stored.record)

            // Claimed by one worker; a second with the same read loses.
            var claimed = email
            claimed.attempts = 1
            claimed.nextAttemptAt = at(130)
            #expect(try await s.outbox.updateDelivery(orderId: order.id, key: key, expected: email, to: claimed))
            #expect(try await s.outbox.updateDelivery(orderId: order.id, key: key, expected: email, to: claimed) == false)
            #expect(try await s.outbox.dueDeliveries(now: at(10), limit: 10).map(\.delivery.name) == [hook.name])
            var sent = claimed
            sent.status = .sent
            sent.nextAttemptAt = nil
            #expect(try await s.outbox.updateDelivery(orderId: order.id, key: key, expected: claimed, to: sent))
            #expect(try await s.outbox.dueDeliveries(now: at(1_000), limit: 10).map(\.delivery.name) == [hook.name])
            var failed = hook
            failed.status = .failed
            failed.attempts = 1
            failed.lastError = "HTTP 500"
            failed.nextAttemptAt = nil
            #expect(try await s.outbox.updateDelivery(orderId: order.id, key: key, expected: hook, to: failed))
            #expect(try await s.outbox.dueDeliveries(now: at(1_000), limit: 10).isEmpty)
            #expect(try await s.outbox.orderEvents(orderId: order.id).first?.deliveries == [sent, failed])
            await #expect(throws: StorageError.notFound) {
                _ = try await s.outbox.updateDelivery(
                    orderId: order.id, key: key,
                    expected: EventDelivery(name: "email:none", recipient: nil, nextAttemptAt: nil, createdAt: t0),
                    to: sent)
            }
        },
    ]
}
