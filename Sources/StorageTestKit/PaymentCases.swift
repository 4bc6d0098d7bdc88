import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    static func makePayment(for order: Order, id: String = "pi_" + UUID().uuidString.prefix(12).lowercased(), at date: Date = t0)
        -> PaymentRecord
    {
        PaymentRecord(
            id: id, orderId: order.id, userId: order.userId, provider: .simulated, status: .requiresPaymentMethod, amount: order.total,
            currency: order.currency, clientSecret: id + "_secret", createdAt: date, updatedAt: date)
    }

    /// A product with stock 10, a placed order for `units` of it, and a stored payment for the order.
    static func orderWithPayment(_ s: StoreHarness, units: Int = 2, at date: Date = t0) async throws -> (Product, Order, PaymentRecord) {
        let p = makeProduct(quantity: 10)
        try await s.catalog.createProduct(p)
        let order = makeOrder(products: [(p, units)], at: date)
        _ = try await s.orders.placeOrder(order, claim: nil, at: date)
        let payment = makePayment(for: order, at: date)
        try await s.orders.createPayment(payment)
        return (p, order, payment)
    }

    static let paymentCases: [Case] = [
        Case(name: "payments round-trip and list newest first per order") { s in
            let (_, order, first) = try await orderWithPayment(s)
            #expect(try await s.orders.payment(id: first.id) == first)
            await #expect(throws: StorageError.alreadyExists) { try await s.orders.createPayment(first) }
            let second = makePayment(for: order, at: at(5))
            try await s.orders.createPayment(second)
            #expect(try await s.orders.payments(orderId: order.id).map(\.id) == [second.id, first.id])
            #expect(try await s.orders.payments(orderId: "no-such-order").isEmpty)
            #expect(try await s.orders.payment(id: "pi_missing") == nil)
        },
        Case(name: "paying moves PENDING_PAYMENT to PAID once, with the payment succeeded") { s in
            let (_, order, payment) = try await orderWithPayment(s)
            #expect(try await s.orders.payingPaymentId(orderId: order.id) == nil)
            let paid = try await s.orders.payOrder(orderId: order.id, paymentId: payment.id, at: at(10))
            #expect(paid.status == .paid)
            #expect(paid.updatedAt == at(10))
            #expect(try await s.orders.payment(id: payment.id)?.status == .succeeded)
            #expect(try await s.orders.payingPaymentId(orderId: order.id) == payment.id)
            await #expect(throws: StorageError.invalidTransition(current: .paid)) {
                try await s.orders.payOrder(orderId: order.id, paymentId: payment.id, at: at(11))
            }
            await #expect(throws: StorageError.notFound) {
                try await s.orders.payOrder(orderId: "missing", paymentId: payment.id, at: at(11))
            }
        },
        Case(name: "cancelling a PAID order returns its stock and marks the refund due in the same step") { s in
            let (p, order, payment) = try await orderWithPayment(s, units: 3)
            _ = try await s.orders.payOrder(orderId: order.id, paymentId: payment.id, at: at(10))
            #expect(try await stock(s, p.id) == 7)
            let cancelled = try await s.orders.transitionOrder(
                id: order.id, from: [.pendingPayment, .paid], to: .cancelled, expiredBy: nil, at: at(20))
            #expect(cancelled.status == .cancelled)
            #expect(try await stock(s, p.id) == 10)
            let due = try #require(try await s.orders.payment(id: payment.id))
            #expect(due.refundDue == order.total)
            #expect(try await s.orders.paymentsWithRefundDue(limit: 10).map(\.id) == [payment.id])

            let refunded = try await s.orders.recordRefund(paymentId: payment.id, refundedAmount: order.total, at: at(21))
            #expect(refunded.refundDue == 0)
            #expect(refunded.refundedAmount == order.total)
            #expect(try await s.orders.paymentsWithRefundDue(limit: 10).isEmpty)
            // A second report of the same refund (the gateway's charge.refunded after our own call) changes nothing.
            #expect(try await s.orders.recordRefund(paymentId: payment.id, refundedAmount: order.total, at: at(22)) == refunded)
            #expect(
                try await s.orders.recordRefund(paymentId: payment.id, refundedAmount: 1, at: at(23)).refundedAmount == order.total,
                "never goes down")
        },
        Case(name: "a refund that keeps failing goes to the back of the queue") { s in
            var due: [String] = []
            for i in 0..<2 {
                let (_, order, payment) = try await orderWithPayment(s, at: at(Double(i)))
                _ = try await s.orders.transitionOrder(
                    id: order.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: at(Double(10 + i)))
                #expect(try await s.orders.markRefundDue(paymentId: payment.id, at: at(Double(20 + i))))
                due.append(payment.id)
            }
            #expect(try await s.orders.paymentsWithRefundDue(limit: 1).map(\.id) == [due[0]])
            try await s.orders.deferRefund(paymentId: due[0], at: at(30))
            #expect(try await s.orders.paymentsWithRefundDue(limit: 1).map(\.id) == [due[1]])
            #expect(try await s.orders.paymentsWithRefundDue(limit: 5).map(\.id) == [due[1], due[0]])
        },
        Case(name: "a cancelled unpaid order owes nothing; a late success is marked due once") { s in
            let (_, order, payment) = try await orderWithPayment(s)
            _ = try await s.orders.transitionOrder(id: order.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: at(5))
            #expect(try await s.orders.payment(id: payment.id)?.refundDue == 0)
            #expect(try await s.orders.markRefundDue(paymentId: payment.id, at: at(6)))
            #expect(try await s.orders.markRefundDue(paymentId: payment.id, at: at(7)) == false, "due once")
            #expect(try await s.orders.payment(id: payment.id)?.refundDue == order.total)
        },
        Case(name: "a final payment status stays final; failures are recorded") { s in
            let (_, _, payment) = try await orderWithPayment(s)
            let failed = try await s.orders.updatePayment(
                id: payment.id, status: .requiresPaymentMethod, failureCode: "insufficient_funds", failureMessage: "No money.", at: at(1))
            #expect(failed.failureCode == "insufficient_funds")
            #expect(failed.failureMessage == "No money.")
            #expect(
                try await s.orders.updatePayment(id: payment.id, status: .canceled, failureCode: nil, failureMessage: nil, at: at(2)).status
                    == .canceled)
            #expect(
                try await s.orders.updatePayment(id: payment.id, status: .succeeded, failureCode: nil, failureMessage: nil, at: at(3))
                    .status == .canceled)
            await #expect(throws: StorageError.notFound) {
                try await s.orders.updatePayment(id: "pi_missing", status: .succeeded, failureCode: nil, failureMessage: nil, at: at(3))
            }
        },
        Case(name: "webhook events are processed once") { (s: StoreHarness) async throws in
            #expect(try await s.orders.eventProcessed(id: "evt_1") == false)
            #expect(try await s.orders.markEventProcessed(id: "evt_1", at: t0, keepUntil: at(3600)))
            #expect(try await s.orders.eventProcessed(id: "evt_1"))
            #expect(try await s.orders.markEventProcessed(id: "evt_1", at: at(1), keepUntil: at(3600)) == false)
        },
        Case(name: "race: a success against cancels: the order moves once, stock returns once, a refund is due at most once") { s in
            for round in 0..<8 {
                let (p, order, payment) = try await orderWithPayment(s, units: 1, at: at(Double(round)))
                async let pay: Bool = {
                    do {
                        _ = try await s.orders.payOrder(orderId: order.id, paymentId: payment.id, at: at(50))
                        return true
                    } catch { return false }
                }()
                async let cancelA: Bool = {
                    do {
                        _ = try await s.orders.transitionOrder(
                            id: order.id, from: [.pendingPayment, .paid], to: .cancelled, expiredBy: nil, at: at(50))
                        return true
                    } catch { return false }
                }()
                async let cancelB: Bool = {
                    do {
                        _ = try await s.orders.transitionOrder(
                            id: order.id, from: [.pendingPayment, .paid], to: .cancelled, expiredBy: nil, at: at(50))
                        return true
                    } catch { return false }
                }()
                let (paid, a, b) = await (pay, cancelA, cancelB)
                #expect([a, b].filter { $0 }.count == 1, "exactly one cancel moves the order")
                #expect(try await s.orders.order(id: order.id)?.status == .cancelled)
                #expect(try await stock(s, p.id) == 10, "stock returned exactly once")
                let due = try #require(try await s.orders.payment(id: payment.id)).refundDue
                #expect(due == (paid ? order.total : 0), "a refund is due exactly when the payment took the order first")
            }
        },
        Case(name: "race: the same event delivered ten times at once is processed once") { s in
            let winners = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<10 {
                    group.addTask {
                        (try? await s.orders.markEventProcessed(id: "evt_race", at: at(Double(i)), keepUntil: at(3600))) ?? false
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
        },
    ]
}
