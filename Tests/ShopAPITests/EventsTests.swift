import Crypto
import Foundation
import HTTPTypes
import ShopAPI
import ShopDomain
import ShopStorage
import ShopSupport
import Synchronization
import Testing

/// Records what it was asked to send; fails the first `failures` sends (temporarily, or for good).
final class RecordingMailer: OrderMailer, EventWebhookSender {
    struct Sent: Sendable, Equatable {
        var template: String
        var to: String
        var eventId: String
        var eventType: OrderEventType
    }
    private let state: Mutex<(sent: [Sent], posted: [String], failures: Int, permanent: Bool)>

    init(failures: Int = 0, permanent: Bool = false) { state = Mutex(([], [], failures, permanent)) }

    var sent: [Sent] { state.withLock { $0.sent } }
    var posted: [String] { state.withLock { $0.posted } }

    func failNext(_ count: Int) { state.withLock { $0.failures = count } }

    private func attempt() throws(DeliveryFailure) {
        let (fail, permanent) = state.withLock { s -> (Bool, Bool) in
            guard s.failures > 0 else { return (false, false) }
            s.failures -= 1
            return (true, s.permanent)
        }
        if fail { throw DeliveryFailure(permanent ? "550 no such user" : "421 try again later", permanent: permanent) }
    }

    func send(template: String, to: String, event: OrderEvent) async throws(DeliveryFailure) {
        try attempt()
        state.withLock { $0.sent.append(Sent(template: template, to: to, eventId: event.id, eventType: event.type)) }
    }

    func post(_ event: OrderEvent, body: [UInt8]) async throws(DeliveryFailure) {
        try attempt()
        state.withLock { $0.posted.append(event.id) }
    }
}

/// The outbox through the API: events written with each change, the timeline, emails planned and sent with retries.
@Suite("Order events")
struct EventsTests {
    static func events(_ shop: TestShop, _ policy: OutboxPolicy) -> EventService {
        var events = shop.services.events
        events.policy = policy
        return events
    }

    /// A shopper's order for 2 of a 1,500 product, paid through the simulator and its webhook.
    static func paidOrder(_ shop: TestShop, _ c: ShopClient, email: String? = nil) async throws -> (Session, String) {
        let shopper = if let email { try await c.shopper(email) } else { try await c.shopper() }
        let product = try await shop.product("Kettle", price: 1500, quantity: 10)
        let order = try await c.placeOrder([(product.id, 2)], token: shopper.accessToken)
        let payment = try await c.startPayment(order.string("id"), token: shopper.accessToken)
        #expect(try await c.confirm(payment.string("paymentId"), token: shopper.accessToken).status == .ok)
        #expect(await shop.deliver() == 1)
        return (shopper, order.string("id"))
    }

    @Test func theTimelineShowsEachChangeOnceWithItsEmailsToTheOwnerAndMoreToAnAdmin() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let mailer = RecordingMailer()
        var policy = OutboxPolicy(mailer: mailer, webhook: mailer)
        let events = Self.events(shop, policy)
        try await shop.live { c in
            let (shopper, orderId) = try await Self.paidOrder(shop, c, email: "ada@example.com")
            let placed = try await c.send(.get, "/orders/\(orderId)", token: shopper.accessToken)
            #expect(placed.string("email") == "ada@example.com", "the order keeps the shopper's email")

            // Before dispatch: the events, no emails yet.
            let early = try await c.send(.get, "/orders/\(orderId)/events", token: shopper.accessToken)
            #expect(early.status == .ok)
            #expect(early.items.map { $0["type"] as? String } == ["order.placed", "order.paid"])
            #expect(early.items.allSatisfy { ($0["emails"] as? [Any])?.isEmpty == true })

            #expect(try await events.dispatchPending() == 2)
            #expect(try await events.dispatchPending() == 0, "each event is dispatched once")
            // placed: the webhook; paid: the confirmation and the webhook.
            #expect(try await events.deliverDue() == 3)
            #expect(try await events.deliverDue() == 0, "nothing is sent twice")
            #expect(
                mailer.sent == [.init(template: "order-confirmation", to: "ada@example.com", eventId: "evt_\(orderId)_2", eventType: .paid)]
            )
            #expect(mailer.posted == ["evt_\(orderId)_1", "evt_\(orderId)_2"])

            let admin = try await shop.admin(c)
            _ = try await c.send(
                .post, "/orders/\(orderId)/fulfil", token: admin.accessToken,
                json: #"{"carrier":"UPS","trackingNumber":"1Z999AA10123456784"}"#)
            _ = try await events.dispatchPending()
            _ = try await events.deliverDue()
            #expect(mailer.sent.map(\.template) == ["order-confirmation", "order-shipped"])

            let mine = try await c.send(.get, "/orders/\(orderId)/events", token: shopper.accessToken)
            #expect(mine.items.map { $0["type"] as? String } == ["order.placed", "order.paid", "order.fulfilled"])
            #expect(mine.items.map { $0["id"] as? String } == ["1", "2", "3"].map { "evt_\(orderId)_\($0)" })
            let paid = mine.items[1]
            #expect(paid["version"] as? Int == 1)
            #expect(paid["orderId"] as? String == orderId)
            #expect(paid["userId"] as? String == shopper.userId)
            let paidOrder = (paid["data"] as? [String: Any])?["order"] as? [String: Any]
            #expect(paidOrder?["status"] as? String == "PAID", "the order as it was then")
            #expect(paidOrder?["shipment"] is NSNull)
            let shippedOrder = (mine.items[2]["data"] as? [String: Any])?["order"] as? [String: Any]
            #expect((shippedOrder?["shipment"] as? [String: Any])?["trackingNumber"] as? String == "1Z999AA10123456784")
            let emails = paid["emails"] as? [[String: Any]] ?? []
            #expect(emails.count == 1)
            #expect(emails.first?["template"] as? String == "order-confirmation")
            #expect(emails.first?["to"] as? String == "ada@example.com")
            #expect(emails.first?["status"] as? String == "sent")
            #expect(emails.first?["attempts"] as? Int == 1)
            #expect(emails.first?.keys.contains("lastError") == false, "the owner does not see errors")
            #expect(paid["webhook"] == nil, "nor the webhook")

            let asAdmin = try await c.send(.get, "/orders/\(orderId)/events", token: admin.accessToken)
            let adminPaid = asAdmin.items[1]
            #expect((adminPaid["emails"] as? [[String: Any]])?.first?.keys.contains("lastError") == true)
            #expect((adminPaid["webhook"] as? [String: Any])?["status"] as? String == "sent")

            let stranger = try await c.shopper()
            let refused = try await c.send(.get, "/orders/\(orderId)/events", token: stranger.accessToken)
            #expect(refused.status == .notFound)
            #expect(try await c.send(.get, "/orders/\(orderId)/events").status == .unauthorized)
            #expect(try await c.send(.get, "/orders/no-such-order/events", token: admin.accessToken).status == .notFound)
        }
    }

    @Test func aCancelledPaidOrderSendsTheCancellationAndTheRefundButAnUnpaidOneSendsNothing() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let mailer = RecordingMailer()
        var policy = OutboxPolicy(mailer: mailer)
        let events = Self.events(shop, policy)
        try await shop.live { c in
            let (shopper, orderId) = try await Self.paidOrder(shop, c)
            #expect(try await c.send(.post, "/orders/\(orderId)/cancel", token: shopper.accessToken).status == .ok)
            let unpaid = try await c.placeOrder([(try await shop.product().id, 1)], token: shopper.accessToken)
            #expect(try await c.send(.post, "/orders/\(unpaid.string("id"))/cancel", token: shopper.accessToken).status == .ok)
            _ = try await events.dispatchPending()
            _ = try await events.deliverDue()
            #expect(mailer.sent.map(\.template) == ["order-confirmation", "order-cancelled", "order-refunded"])
            #expect(Set(mailer.sent.map(\.eventId)).count == 3)
            let timeline = try await c.send(.get, "/orders/\(orderId)/events", token: shopper.accessToken)
            #expect(timeline.items.map { $0["type"] as? String } == ["order.placed", "order.paid", "order.cancelled", "order.refunded"])
            let cancelled = timeline.items[2]["data"] as? [String: Any]
            #expect(cancelled?["cancelledBy"] as? String == "shopper")
            #expect(cancelled?["previousStatus"] as? String == "PAID")
            let refund = (timeline.items[3]["data"] as? [String: Any])?["refund"] as? [String: Any]
            #expect(refund?["amount"] as? Int == 3500)
            #expect(refund?["currency"] as? String == "USD")
            let unpaidTimeline = try await c.send(.get, "/orders/\(unpaid.string("id"))/events", token: shopper.accessToken)
            #expect(unpaidTimeline.items.map { $0["type"] as? String } == ["order.placed", "order.cancelled"])
            #expect(unpaidTimeline.items.allSatisfy { ($0["emails"] as? [Any])?.isEmpty == true })
        }
    }

    @Test func aFailingMailServerIsRetriedWithBackoffAndGivenUpAfterADay() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let mailer = RecordingMailer(failures: 3)
        var policy = OutboxPolicy(mailer: mailer)
        policy.mailRetryBase = .seconds(30)
        let events = Self.events(shop, policy)
        try await shop.live { c in
            let (_, orderId) = try await Self.paidOrder(shop, c)
            _ = try await events.dispatchPending()
            func email() async throws -> EventDelivery? {
                try await events.outbox.orderEvents(orderId: orderId)[1].deliveries.first
            }
            // 30 s, then 60 s, then 120 s between tries.
            for (wait, attempts) in [(0.0, 1), (30, 2), (60, 3)] {
                shop.clock.advance(by: wait)
                #expect(try await events.deliverDue() == 0)
                #expect(try await email()?.attempts == attempts)
                #expect(try await email()?.status == .pending)
                #expect(try await email()?.lastError == "421 try again later")
                shop.clock.advance(by: 1)
                #expect(try await events.deliverDue() == 0, "not before its time")
                shop.clock.advance(by: -1)
            }
            shop.clock.advance(by: 119)
            #expect(try await events.deliverDue() == 0, "one second early")
            shop.clock.advance(by: 1)
            #expect(try await events.deliverDue() == 1)
            #expect(try await email()?.status == .sent)
            #expect(try await email()?.attempts == 4)
            #expect(mailer.sent.count == 1)

            // A server that keeps refusing for a day: failed, and never tried again.
            mailer.failNext(1_000)
            let admin = try await shop.admin(c)
            _ = try await c.send(.post, "/orders/\(orderId)/fulfil", token: admin.accessToken)
            _ = try await events.dispatchPending()
            var tries = 0
            while try await events.outbox.orderEvents(orderId: orderId)[2].deliveries.first?.status == .pending, tries < 100 {
                _ = try await events.deliverDue()
                shop.clock.advance(by: 6 * 3600)
                tries += 1
            }
            let shipped = try #require(try await events.outbox.orderEvents(orderId: orderId)[2].deliveries.first)
            #expect(shipped.status == .failed)
            #expect((2...8).contains(shipped.attempts), "backoff up to 6 hours, for 24 hours: \(shipped.attempts) tries")
            #expect(try await events.deliverDue() == 0)
        }
    }

    @Test func aPermanentRefusalFailsAtOnce() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let mailer = RecordingMailer(failures: 1, permanent: true)
        var policy = OutboxPolicy(mailer: mailer)
        let events = Self.events(shop, policy)
        try await shop.live { c in
            let (_, orderId) = try await Self.paidOrder(shop, c)
            _ = try await events.dispatchPending()
            #expect(try await events.deliverDue() == 0)
            let email = try #require(try await events.outbox.orderEvents(orderId: orderId)[1].deliveries.first)
            #expect(email.status == .failed)
            #expect(email.lastError == "550 no such user")
            // `shop mail resend` makes it due again, and it goes.
            #expect(try await events.resendEmails(eventId: "evt_\(orderId)_2") == 1)
            #expect(mailer.sent.count == 1)
            #expect(try await events.outbox.orderEvents(orderId: orderId)[1].deliveries.first?.status == .sent)
            await #expect(throws: StorageError.notFound) { try await events.resendEmails(eventId: "evt_\(orderId)_9") }
            await #expect(throws: StorageError.notFound) { try await events.resendEmails(eventId: "nonsense") }
        }
    }

    @Test func anOrdersWebhookWaitsForTheOneBeforeIt() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let hook = RecordingMailer()
        var policy = OutboxPolicy(webhook: hook)
        policy.webhookRetryBase = .seconds(10)
        let events = Self.events(shop, policy)
        try await shop.live { c in
            let shopper = try await c.shopper()
            let product = try await shop.product()
            let order = try await c.placeOrder([(product.id, 1)], token: shopper.accessToken)
            let orderId = order.string("id")
            _ = try await events.dispatchPending()
            hook.failNext(1)
            #expect(try await events.deliverDue() == 0, "order.placed fails once")
            #expect(try await c.send(.post, "/orders/\(orderId)/cancel", token: shopper.accessToken).status == .ok)
            _ = try await events.dispatchPending()
            shop.clock.advance(by: 5)
            #expect(try await events.deliverDue() == 0, "order.cancelled waits: order.placed is still on its way")
            #expect(hook.posted.isEmpty)
            shop.clock.advance(by: 10)
            _ = try await events.deliverDue()
            shop.clock.advance(by: 60)
            _ = try await events.deliverDue()
            #expect(hook.posted == ["evt_\(orderId)_1", "evt_\(orderId)_3"], "in order")
        }
    }

    @Test func oneOrdersDeliveriesAreFoundHoweverManyOthersAreDueFirst() async throws {
        let shop = try await TestShop()
        defer { shop.cleanUp() }
        let mailer = RecordingMailer()
        let events = Self.events(shop, OutboxPolicy(mailer: mailer))
        try await shop.live { c in
            let (_, first) = try await Self.paidOrder(shop, c)
            _ = try await events.dispatchPending()
            shop.clock.advance(by: 1)
            let (_, second) = try await Self.paidOrder(shop, c)
            _ = try await events.dispatchPending()
            // The store-wide list, one long, holds the first order's email: the second's is still found by its order.
            #expect(try await events.outbox.dueDeliveries(now: shop.clock.now, limit: 1).map(\.event.orderId) == [first])
            #expect(try await events.deliverDue(limit: 1, onlyOrder: second) == 1)
            #expect(mailer.sent.map(\.eventId) == ["evt_\(second)_2"])
        }
    }

    @Test func theSignatureIsStripesSchemeOverTheRawBody() throws {
        let body = Array(#"{"id":"evt_1"}"#.utf8)
        let header = EventSignature.header(secret: Array("whsec_abc".utf8), body: body, at: Date(timeIntervalSince1970: 1_780_000_000))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("1780000000.".utf8) + body, using: SymmetricKey(data: Array("whsec_abc".utf8)))
        #expect(header == "t=1780000000,v1=" + Data(mac).map { String(format: "%02x", $0) }.joined())
    }
}
