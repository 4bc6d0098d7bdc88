import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Payments
import ShopAPI
import ShopDomain
import ShopLocal
import Synchronization
import Testing

extension ShopClient {
    func startPayment(_ orderId: String, token: String) async throws -> Reply {
        try await send(.post, "/payment", token: token, json: #"{"orderId":"\#(orderId)"}"#)
    }

    func confirm(_ paymentId: String, card: String = "4242424242424242", expYear: Int = 2031, token: String) async throws -> Reply {
        try await send(
            .post, "/payment/simulator/confirm", token: token,
            json: #"{"paymentId":"\#(paymentId)","card":{"number":"\#(card)","expMonth":12,"expYear":\#(expYear),"cvc":"123"}}"#)
    }

    func order(_ id: String, token: String) async throws -> Reply {
        try await send(.get, "/orders/\(id)", token: token)
    }

    /// Posts a webhook as the gateway would; `header` nil signs it with the test secret at `timestamp`.
    func webhook(_ body: String, timestamp: Int64, header: String? = nil) async throws -> Reply {
        let signature = header ?? WebhookSignature(secret: TestShop.webhookSecret).header(for: Array(body.utf8), timestamp: timestamp)
        return try await send(.post, "/payment/webhook", json: body, headers: [HTTPField.Name("Stripe-Signature")!: signature])
    }
}

/// A Stripe-format event about a payment, as the test writes it.
func paymentEvent(
    _ type: String, id: String = "evt_" + UUID().uuidString.prefix(12), paymentId: String, orderId: String, amount: Int,
    currency: String = "usd",
    status: String = "succeeded"
) -> String {
    #"{"id":"\#(id)","object":"event","type":"\#(type)","created":1780000000,"data":{"object":{"id":"\#(paymentId)","object":"payment_intent","amount":\#(amount),"currency":"\#(currency)","status":"\#(status)","client_secret":"x","metadata":{"orderId":"\#(orderId)"}}}}"#
}

extension Reply {
    var payment: [String: Any] { json["payment"] as? [String: Any] ?? [:] }
}

/// Payments through the router on a live socket, with the simulated gateway and its real webhooks.
@Suite("Payment routes (simulator)")
struct PaymentRoutesTests {
    struct Checkout {
        let shopper: Session
        let product: Product
        let orderId: String
        let paymentId: String
        let total: Int
    }

    /// A shopper, a product with 10 in stock, an order for 2 and its payment.
    static func checkout(_ shop: TestShop, _ c: ShopClient, units: Int = 2) async throws -> Checkout {
        let shopper = try await c.shopper()
        let product = try await shop.product("Kettle", price: 1500, quantity: 10)
        let order = try await c.placeOrder([(product.id, units)], token: shopper.accessToken)
        let payment = try await c.startPayment(order.string("id"), token: shopper.accessToken)
        #expect(payment.status == .created, "\(payment.text)")
        return Checkout(
            shopper: shopper, product: product, orderId: order.string("id"), paymentId: payment.string("paymentId"),
            total: order.int("total"))
    }

    @Test func aCardPaymentPaysTheOrderThroughTheWebhook() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            #expect(try await c.send(.get, "/payment/config").json["provider"] as? String == "simulated")
            let x = try await Self.checkout(shop, c)
            let again = try await c.startPayment(x.orderId, token: x.shopper.accessToken)
            #expect(again.string("paymentId") == x.paymentId, "the open payment comes back")
            #expect(again.int("amount") == x.total)
            #expect(again.string("currency") == "USD")
            #expect(again.string("clientSecret").hasPrefix(x.paymentId + "_secret_"))
            #expect(again.headers[.cacheControl] == "no-store")
            #expect(try await c.order(x.orderId, token: x.shopper.accessToken).payment["status"] as? String == "requires_payment_method")

            let confirmed = try await c.confirm(x.paymentId, token: x.shopper.accessToken)
            #expect(confirmed.status == .ok, "\(confirmed.text)")
            #expect(confirmed.string("status") == "succeeded")
            #expect(
                try await c.order(x.orderId, token: x.shopper.accessToken).string("status") == "PENDING_PAYMENT",
                "paid only when the webhook says so")

            #expect(await shop.deliver() == 1)
            let paid = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(paid.string("status") == "PAID")
            #expect(paid.payment["status"] as? String == "succeeded")
            #expect(paid.payment["amount"] as? Int == x.total)
            #expect(try await c.startPayment(x.orderId, token: x.shopper.accessToken).errorCode == "order_not_payable")

            let admin = try await shop.admin(c)
            let fulfilled = try await c.send(.post, "/orders/\(x.orderId)/fulfil", token: admin.accessToken)
            #expect(fulfilled.string("status") == "FULFILLED")
            #expect(try await shop.stock(x.product.id) == 8)
        }
    }

    @Test(arguments: [("4000000000000002", "generic_decline"), ("4000000000009995", "insufficient_funds")])
    func aDeclineKeepsTheOrderPayableWithAnotherCard(_ card: String, _ declineCode: String) async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            let declined = try await c.confirm(x.paymentId, card: card, token: x.shopper.accessToken)
            #expect(declined.status.code == 402)
            #expect(declined.errorCode == "card_declined")
            #expect((declined.errorDetails as? [String: Any])?["declineCode"] as? String == declineCode)
            #expect(await shop.deliver() == 1)
            let pending = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(pending.string("status") == "PENDING_PAYMENT")
            #expect(pending.payment["failureCode"] as? String == declineCode)

            #expect(try await c.confirm(x.paymentId, token: x.shopper.accessToken).string("status") == "succeeded")
            await shop.deliver()
            #expect(try await c.order(x.orderId, token: x.shopper.accessToken).string("status") == "PAID")
        }
    }

    @Test func threeDSecureApproveAndFail() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            for approve in [true, false] {
                let x = try await Self.checkout(shop, c)
                let challenged = try await c.confirm(x.paymentId, card: "4000002500003155", token: x.shopper.accessToken)
                #expect(challenged.string("status") == "requires_action")
                let answer = try await c.send(
                    .post, "/payment/simulator/authenticate", token: x.shopper.accessToken,
                    json: #"{"paymentId":"\#(x.paymentId)","outcome":"\#(approve ? "approve" : "fail")"}"#)
                #expect(answer.status == .ok)
                await shop.deliver()
                let order = try await c.order(x.orderId, token: x.shopper.accessToken)
                if approve {
                    #expect(order.string("status") == "PAID")
                } else {
                    #expect(order.string("status") == "PENDING_PAYMENT")
                    #expect(order.payment["failureCode"] as? String == "payment_intent_authentication_failure")
                }
            }
        }
    }

    @Test func badCardsAndOtherPeoplesPaymentsAreRefused() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            let luhn = try await c.confirm(x.paymentId, card: "4242424242424241", token: x.shopper.accessToken)
            #expect(luhn.status == .badRequest)
            #expect(((luhn.errorDetails as? [[String: Any]])?.first)?["field"] as? String == "card.number")
            let expired = try await c.confirm(x.paymentId, expYear: 2020, token: x.shopper.accessToken)
            #expect(((expired.errorDetails as? [[String: Any]])?.first)?["field"] as? String == "card.expYear")
            let state = try await shop.simulator.inspect(paymentId: x.paymentId)
            #expect(state.payment.status == .requiresPaymentMethod)
            #expect(state.events.isEmpty, "a refused card changes nothing")

            let stranger = try await c.shopper()
            #expect(try await c.confirm(x.paymentId, token: stranger.accessToken).status == .notFound)
            #expect(try await c.startPayment(x.orderId, token: stranger.accessToken).status == .notFound)
            #expect(try await c.send(.get, "/payment/simulator/payments/\(x.paymentId)", token: stranger.accessToken).status == .notFound)
            #expect(try await c.startPayment(x.orderId, token: "garbage").status == .unauthorized)
        }
    }

    @Test func cancellingAPaidOrderRefundsItOnce() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)
            await shop.deliver()
            let cancelled = try await c.send(.post, "/orders/\(x.orderId)/cancel", token: x.shopper.accessToken)
            #expect(cancelled.string("status") == "CANCELLED")
            #expect(cancelled.payment["refundedAmount"] as? Int == x.total, "with the simulator the refund is done before the answer")
            #expect(try await shop.stock(x.product.id) == 10)
            await shop.deliver()  // charge.refunded comes back: recorded, nothing else
            #expect(try await shop.simulator.inspect(paymentId: x.paymentId).refunds == [x.total])
            #expect(try await c.order(x.orderId, token: x.shopper.accessToken).payment["refundedAmount"] as? Int == x.total)
            #expect(try await c.send(.post, "/orders/\(x.orderId)/cancel", token: x.shopper.accessToken).status == .conflict)
            #expect(try await shop.simulator.inspect(paymentId: x.paymentId).refunds == [x.total])
        }
    }

    @Test func cancellingAPendingOrderCancelsItsPayment() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            let cancelled = try await c.send(.post, "/orders/\(x.orderId)/cancel", token: x.shopper.accessToken)
            #expect(cancelled.payment["status"] as? String == "canceled")
            #expect(try await shop.simulator.inspect(paymentId: x.paymentId).payment.status == .canceled)
            #expect(try await c.confirm(x.paymentId, token: x.shopper.accessToken).status == .conflict)
        }
    }

    @Test func aLateSuccessAfterExpiryIsRefundedAndTheOrderStaysCancelled() async throws {
        let shop = try await TestShop(orderTTL: 60)
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)  // succeeded; its webhook is not delivered yet
            shop.clock.advance(by: 61)
            let swept = try await shop.services.sweep()
            #expect(swept.expired == 1)
            #expect(try await shop.stock(x.product.id) == 10)
            await shop.deliver()  // the late payment_intent.succeeded
            let order = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(order.string("status") == "CANCELLED", "a late success never brings the order back")
            #expect(order.payment["refundedAmount"] as? Int == x.total)
            #expect(try await shop.stock(x.product.id) == 10, "nor takes the stock again")
            #expect(try await shop.simulator.inspect(paymentId: x.paymentId).refunds == [x.total])
        }
    }

    @Test func aSuccessWhoseWebhookNeverComesIsRefundedWhenTheOrderIsCancelled() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)  // charged; the webhook is never delivered
            let cancelled = try await c.send(.post, "/orders/\(x.orderId)/cancel", token: x.shopper.accessToken)
            #expect(cancelled.string("status") == "CANCELLED")
            #expect(cancelled.payment["status"] as? String == "succeeded", "asked the gateway when the cancel was refused")
            #expect(cancelled.payment["refundedAmount"] as? Int == x.total, "and gave the money back")
            #expect(try await shop.simulator.inspect(paymentId: x.paymentId).refunds == [x.total])
            await shop.deliver()  // the success arrives after all: nothing more happens
            #expect(try await shop.simulator.inspect(paymentId: x.paymentId).refunds == [x.total])
            #expect(try await c.order(x.orderId, token: x.shopper.accessToken).string("status") == "CANCELLED")
        }
    }

    @Test func signaturesAreCheckedBeforeAnything() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            let body = paymentEvent("payment_intent.succeeded", paymentId: x.paymentId, orderId: x.orderId, amount: x.total)
            let now = Int64(shop.clock.now.timeIntervalSince1970)
            let forged = WebhookSignature(secret: "whsec_forger").header(for: Array(body.utf8), timestamp: now)
            for (header, why) in [
                (Optional(forged), "forged"), (nil, "stale"), (nil, "future"), ("", "missing"),
            ] {
                let timestamp = why == "stale" ? now - 301 : why == "future" ? now + 301 : now
                let reply = try await c.webhook(body, timestamp: timestamp, header: header)
                #expect(reply.status == .badRequest, "\(why)")
                #expect(reply.errorCode == "invalid_signature", "\(why)")
            }
            #expect(try await c.order(x.orderId, token: x.shopper.accessToken).string("status") == "PENDING_PAYMENT")
            let signedGarbage = try await c.webhook("{not json", timestamp: now)
            #expect(signedGarbage.errorCode == "invalid_event")
        }
    }

    @Test func replaysDuplicatesAndEventsOutOfOrderEndTheSame() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            let now = Int64(shop.clock.now.timeIntervalSince1970)
            let success = paymentEvent(
                "payment_intent.succeeded", id: "evt_success", paymentId: x.paymentId, orderId: x.orderId, amount: x.total)
            let failure = paymentEvent(
                "payment_intent.payment_failed", id: "evt_failure", paymentId: x.paymentId, orderId: x.orderId, amount: x.total,
                status: "requires_payment_method")
            #expect(try await c.webhook(success, timestamp: now).status == .ok)
            #expect(try await c.webhook(success, timestamp: now).status == .ok, "a replay answers 200")
            let duplicate = success.replacingOccurrences(of: "evt_success", with: "evt_duplicate")
            #expect(try await c.webhook(duplicate, timestamp: now).status == .ok)
            #expect(try await c.webhook(failure, timestamp: now).status == .ok, "a failure after the success")
            let other =
                #"{"id":"evt_other","object":"event","type":"customer.created","created":1,"data":{"object":{"id":"cus_1","object":"customer"}}}"#
            #expect(try await c.webhook(other, timestamp: now).status == .ok, "unknown types are acknowledged")
            let order = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(order.string("status") == "PAID")
            #expect(order.payment["status"] as? String == "succeeded", "a final status stays final")
            #expect(order.payment["refundedAmount"] as? Int == 0)
            #expect(try await shop.stock(x.product.id) == 8)
            #expect(try await shop.services.payments.retryDueRefunds() == 0, "nothing is owed back")
        }
    }

    @Test func aPaymentThatDoesNotMatchItsOrderIsRefundedNotTaken() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)  // the simulator really took the money
            let now = Int64(shop.clock.now.timeIntervalSince1970)
            let wrongAmount = paymentEvent("payment_intent.succeeded", paymentId: x.paymentId, orderId: x.orderId, amount: x.total - 1)
            #expect(try await c.webhook(wrongAmount, timestamp: now).status == .ok)
            let order = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(order.string("status") == "PENDING_PAYMENT", "not paid")
            #expect(order.payment["refundedAmount"] as? Int == x.total, "refunded")
            // The currency is compared without regard to case: Stripe writes "usd".
            let y = try await Self.checkout(shop, c)
            _ = try await c.confirm(y.paymentId, token: y.shopper.accessToken)
            let otherCurrency = paymentEvent(
                "payment_intent.succeeded", paymentId: y.paymentId, orderId: y.orderId, amount: y.total, currency: "eur")
            #expect(try await c.webhook(otherCurrency, timestamp: now).status == .ok)
            #expect(try await c.order(y.orderId, token: y.shopper.accessToken).string("status") == "PENDING_PAYMENT")
            let rightCurrency = paymentEvent(
                "payment_intent.succeeded", paymentId: y.paymentId, orderId: y.orderId, amount: y.total, currency: "USD")
            #expect(try await c.webhook(rightCurrency, timestamp: now).status == .ok)
            #expect(
                try await c.order(y.orderId, token: y.shopper.accessToken).payment["refundedAmount"] as? Int == y.total,
                "already refunded; never paid twice")
        }
    }

    /// Stripe's `charge.refunded` and `payment_intent.canceled`, which localstripe never sends.
    @Test func refundedAndCanceledEventsAreRecorded() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            let now = Int64(shop.clock.now.timeIntervalSince1970)
            let canceled = paymentEvent(
                "payment_intent.canceled", paymentId: x.paymentId, orderId: x.orderId, amount: x.total, status: "canceled")
            #expect(try await c.webhook(canceled, timestamp: now).status == .ok)
            #expect(try await c.order(x.orderId, token: x.shopper.accessToken).payment["status"] as? String == "canceled")

            let y = try await Self.checkout(shop, c)
            _ = try await c.confirm(y.paymentId, token: y.shopper.accessToken)
            await shop.deliver()
            let refunded =
                #"{"id":"evt_ref","object":"event","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_1","object":"charge","payment_intent":"\#(y.paymentId)","amount":\#(y.total),"amount_refunded":500,"currency":"usd"}}}"#
            #expect(try await c.webhook(refunded, timestamp: now).status == .ok)
            let order = try await c.order(y.orderId, token: y.shopper.accessToken)
            #expect(order.payment["refundedAmount"] as? Int == 500)
            #expect(order.string("status") == "PAID", "a refund made elsewhere (the dashboard) is recorded; the order is not moved")
        }
    }

    /// A refund that fails after the gateway accepted it (`refund.failed`, then `charge.refund.updated`) is due again,
    /// the order shows it, and the sweep sends it again under a new idempotency key until it goes through.
    @Test func aRefundThatFailsLaterIsDueAgainAndRetried() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)
            await shop.deliver()
            let cancelled = try await c.send(.post, "/orders/\(x.orderId)/cancel", token: x.shopper.accessToken)
            #expect(cancelled.payment["refundedAmount"] as? Int == x.total)
            await shop.deliver()
            let refund = try #require(try await shop.simulator.refundIds(paymentId: x.paymentId).first)
            try await shop.simulator.failRefund(id: refund)
            #expect(await shop.deliver() == 2, "refund.failed and charge.refund.updated")
            let shown = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(shown.payment["refundedAmount"] as? Int == 0, "\(shown.text)")
            #expect(shown.payment["refundDue"] as? Int == x.total)
            #expect(shown.payment["refundFailed"] as? Bool == true, "the order shows the failed refund")
            #expect(try await shop.store.paymentsWithRefundDue(limit: 10).map(\.id) == [x.paymentId])

            let swept = try await shop.services.sweep(purgeIdempotencyKeys: false)
            #expect(swept.refundsRetried == 1)
            let after = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(after.payment["refundedAmount"] as? Int == x.total)
            #expect(after.payment["refundDue"] as? Int == 0)
            #expect(after.payment["refundFailed"] as? Bool == false)
            let simulated = try await shop.simulator.inspect(paymentId: x.paymentId)
            #expect(simulated.refunds == [x.total], "one refund that stands: the failed one and its successor")
            #expect(simulated.payment.refundedAmount == x.total)
            #expect(try await shop.simulator.refundIds(paymentId: x.paymentId).count == 2, "the retry was a new refund, not a replay")
            // A refund that fails on an order that owes nothing (one made in the dashboard, on a paid order) is only recorded.
            let y = try await Self.checkout(shop, c)
            _ = try await c.confirm(y.paymentId, token: y.shopper.accessToken)
            await shop.deliver()
            let now = Int64(shop.clock.now.timeIntervalSince1970)
            let failed =
                #"{"id":"evt_rf1","object":"event","type":"refund.failed","created":\#(now),"data":{"object":{"id":"re_dash","object":"refund","amount":500,"currency":"usd","charge":"ch_x","payment_intent":"\#(y.paymentId)","status":"failed","failure_reason":"lost_or_stolen_card"}}}"#
            let partial =
                #"{"id":"evt_cr1","object":"event","type":"charge.refunded","created":\#(now),"data":{"object":{"id":"ch_x","object":"charge","payment_intent":"\#(y.paymentId)","amount":\#(y.total),"amount_refunded":500,"currency":"usd"}}}"#
            #expect(try await c.webhook(partial, timestamp: now).status == .ok)
            #expect(try await c.webhook(failed, timestamp: now).status == .ok)
            let paid = try await c.order(y.orderId, token: y.shopper.accessToken)
            #expect(paid.string("status") == "PAID")
            #expect(paid.payment["refundedAmount"] as? Int == 0)
            #expect(paid.payment["refundDue"] as? Int == 0, "nothing is owed on a paid order")
        }
    }

    /// Refund totals are the gateway's: a dashboard refund racing a cancel can never make the record exceed the payment.
    @Test func refundTotalsAreTheGatewaysNeverASumMadeHere() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)
            await shop.deliver()
            // 40 % refunded in the dashboard; its charge.refunded has not arrived when the shopper cancels.
            let partial = x.total * 2 / 5
            _ = try await shop.simulator.refund(paymentId: x.paymentId, amount: partial, idempotencyKey: "dashboard-1")
            let cancelled = try await c.send(.post, "/orders/\(x.orderId)/cancel", token: x.shopper.accessToken)
            #expect(cancelled.payment["refundedAmount"] as? Int == x.total, "\(cancelled.text)")
            await shop.deliver()
            let shown = try await c.order(x.orderId, token: x.shopper.accessToken)
            #expect(shown.payment["refundedAmount"] as? Int == x.total, "never more than was paid")
            #expect(try await shop.simulator.inspect(paymentId: x.paymentId).refunds == [partial, x.total - partial])
        }
    }

    /// An event for a payment not stored yet is refused (503, unrecorded) for an hour so the gateway redelivers it;
    /// after that it is acknowledged. An event type the store ignores is acknowledged whatever its object holds.
    @Test func unknownPaymentsAreRedeliveredForAnHourAndIgnoredTypesAreAcknowledged() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let now = Int64(shop.clock.now.timeIntervalSince1970)
            let early =
                #"{"id":"evt_unknown1","object":"event","type":"payment_intent.succeeded","created":\#(now - 60),"data":{"object":{"id":"pi_notyet","object":"payment_intent","amount":100,"currency":"usd","status":"succeeded"}}}"#
            let refused = try await c.webhook(early, timestamp: now)
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.errorCode == "payment_unknown")
            #expect(try await shop.store.eventProcessed(id: "evt_unknown1") == false, "not recorded: a redelivery is applied")
            let old =
                #"{"id":"evt_unknown2","object":"event","type":"payment_intent.succeeded","created":\#(now - 3700),"data":{"object":{"id":"pi_never","object":"payment_intent","amount":100,"currency":"usd","status":"succeeded"}}}"#
            #expect(try await c.webhook(old, timestamp: now).status == .ok, "after an hour: acknowledged and logged")
            #expect(try await shop.store.eventProcessed(id: "evt_unknown2"))
            let balance =
                #"{"id":"evt_bal","object":"event","type":"balance.available","created":\#(now),"data":{"object":{"object":"balance","available":[{"amount":100,"currency":"usd"}]}}}"#
            #expect(try await c.webhook(balance, timestamp: now).status == .ok, "an ignored type whose object has no id")
        }
    }

    /// A reloaded checkout page asks again: the answer carries the gateway's status, not the stored one the webhook
    /// has not moved yet, so the page shows "payment received" instead of the card form.
    @Test func aRepeatedStartAnswersTheGatewaysCurrentStatus() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let x = try await Self.checkout(shop, c)
            _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)
            // The webhook is delayed (not delivered): the stored payment still waits for a card.
            #expect(try await c.order(x.orderId, token: x.shopper.accessToken).payment["status"] as? String == "requires_payment_method")
            let again = try await c.startPayment(x.orderId, token: x.shopper.accessToken)
            #expect(again.string("paymentId") == x.paymentId)
            #expect(again.string("status") == "succeeded")
            #expect(try await c.confirm(x.paymentId, token: x.shopper.accessToken).status == .conflict, "no second charge")
        }
    }

    @Test func deliveryRetriesUntilTheEndpointAnswers() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let flaky = FlakyEndpoint(failures: 2)
        try await flaky.run { url in
            let simulator = try TestShop.simulator(in: shop.dir + "/flaky", clock: shop.clock.wallClock)
            simulator.useDefaultWebhookURL(url)
            let payment = try await simulator.createPayment(orderId: "o1", amount: 500, currency: "USD", idempotencyKey: "k1")
            _ = try await simulator.confirm(
                paymentId: payment.id, card: CardDetails(number: "4242424242424242", expMonth: 12, expYear: 2031, cvc: "123"))
            let delivery = WebhookDelivery(gateway: simulator)
            #expect(await delivery.deliverDue() == 1)  // 503
            #expect(await delivery.deliverDue() == 0, "the retry waits for its backoff")
            shop.clock.advance(by: 1)
            #expect(await delivery.deliverDue() == 1)  // 503 again
            shop.clock.advance(by: 2)
            #expect(await delivery.deliverDue() == 1)  // 200
            shop.clock.advance(by: 60)
            #expect(await delivery.deliverDue() == 0, "delivered once, never again")
            #expect(try await simulator.inspect(paymentId: payment.id).delivered == 1)
            #expect(flaky.received == 3)
            #expect(flaky.signaturesValid, "every try is signed afresh with the secret")
        }
    }

    @Test func racesBetweenASuccessAndTwoCancelsMoveAndRefundOnce() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        try await shop.live { c in
            let admin = try await shop.admin(c)
            var doubleRefunds = 0
            var lostMoney = 0
            var stockErrors = 0
            let rounds = 20
            for _ in 0..<rounds {
                let x = try await Self.checkout(shop, c, units: 1)
                _ = try await c.confirm(x.paymentId, token: x.shopper.accessToken)
                let now = Int64(shop.clock.now.timeIntervalSince1970)
                let success = paymentEvent("payment_intent.succeeded", paymentId: x.paymentId, orderId: x.orderId, amount: x.total)
                async let webhook = c.webhook(success, timestamp: now)
                async let byOwner = c.send(.post, "/orders/\(x.orderId)/cancel", token: x.shopper.accessToken)
                async let byAdmin = c.send(.post, "/orders/\(x.orderId)/cancel", token: admin.accessToken)
                let statuses = [try await webhook.status, try await byOwner.status, try await byAdmin.status]
                #expect(statuses[0] == .ok)
                #expect(statuses.dropFirst().filter { $0 == .ok }.count == 1, "exactly one cancel wins")
                await shop.deliver()
                _ = try await shop.services.payments.retryDueRefunds()
                let state = try await shop.simulator.inspect(paymentId: x.paymentId)
                if state.refunds.count > 1 { doubleRefunds += 1 }
                if state.payment.status == .succeeded && state.refunds.isEmpty { lostMoney += 1 }
                if try await shop.stock(x.product.id) != 10 { stockErrors += 1 }
            }
            #expect(doubleRefunds == 0)
            #expect(lostMoney == 0, "a success on a cancelled order is always refunded")
            #expect(stockErrors == 0, "stock returned exactly once")
        }
    }
}

/// An endpoint that answers 503 to the first `failures` deliveries, then 200, checking each signature.
final class FlakyEndpoint: Sendable {
    let failures: Int
    private let state = Mutex<(received: Int, valid: Bool)>((0, true))
    init(failures: Int) { self.failures = failures }
    var received: Int { state.withLock { $0.received } }
    var signaturesValid: Bool { state.withLock { $0.valid } }

    func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let bytes = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let header = request.headers[HTTPField.Name("Stripe-Signature")!]
            let valid =
                (try? WebhookSignature(secret: TestShop.webhookSecret, tolerance: 100_000_000).verify(bytes, header: header, now: Date()))
                != nil
            let count = self.state.withLock { state -> Int in
                state.received += 1
                state.valid = state.valid && valid
                return state.received
            }
            return Response(status: count <= self.failures ? .serviceUnavailable : .ok)
        }
        var logger = Logger(label: "flaky")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in try await body("http://127.0.0.1:\(client.port!)/hook") }
    }
}
