import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    /// Applies every event of `orderIds` to the figures where the store keeps them from the outbox (twice: once counts).
    static func applyEvents(_ s: StoreHarness, _ orderIds: [String]) async throws {
        guard s.stats.statsFromOutbox else { return }
        for id in orderIds {
            let order = try #require(try await s.orders.order(id: id))
            for event in try await s.outbox.orderEvents(orderId: id) {
                try await s.stats.applyToStats(event.record, order: order)
                try await s.stats.applyToStats(event.record, order: order)
            }
        }
    }

    static let statsCases: [Case] = [
        Case(name: "the merchant's figures: per day paid, refunded and counted, products sold, low stock") { s in
            // Day 0 is 2026-05-28 (t0 = 1,780,000,000 s).
            let day0 = UTCDay(t0)
            let day = 86_400.0
            let lamp = makeProduct(name: "Lamp", price: 1_000, quantity: 10)
            let mug = makeProduct(name: "Mug", price: 300, quantity: 4)
            let euro = Product(
                id: Identifier.make(at: t0), name: "Tasse", description: "", price: 500, currency: "EUR", quantity: 50, category: "home",
                version: 1, createdAt: t0, updatedAt: t0)
            for p in [lamp, mug, euro] { try await s.catalog.createProduct(p) }

            // Day 0: two lamps and a mug, paid the same day; a placed order that is never paid.
            let first = makeOrder(products: [(lamp, 2), (mug, 1)], at: t0)
            _ = try await s.orders.placeOrder(first, claim: nil, at: t0)
            let pay1 = makePayment(for: first)
            try await s.orders.createPayment(pay1)
            _ = try await s.orders.payOrder(orderId: first.id, paymentId: pay1.id, at: at(60))
            let unpaid = makeOrder(products: [(mug, 1)], at: at(120))
            _ = try await s.orders.placeOrder(unpaid, claim: nil, at: at(120))
            // Day 1: a lamp paid, then cancelled and refunded the day after; the first order fulfilled.
            let second = makeOrder(products: [(lamp, 1)], at: at(day))
            _ = try await s.orders.placeOrder(second, claim: nil, at: at(day))
            let pay2 = makePayment(for: second, at: at(day))
            try await s.orders.createPayment(pay2)
            _ = try await s.orders.payOrder(orderId: second.id, paymentId: pay2.id, at: at(day + 10))
            _ = try await s.orders.fulfilOrder(
                id: first.id, shipment: Shipment(carrier: nil, trackingNumber: nil, trackingUrl: nil, shippedAt: at(day + 20)),
                at: at(day + 20))
            _ = try await s.orders.transitionOrder(
                id: second.id, from: [.paid], to: .cancelled, expiredBy: nil, cancelledBy: .admin, at: at(2 * day))
            _ = try await s.orders.recordRefund(paymentId: pay2.id, refundedAmount: 1_000, at: at(2 * day + 5))
            // Day 1 in euros.
            var euroOrder = makeOrder(products: [(euro, 3)], at: at(day + 30))
            euroOrder.currency = "EUR"
            _ = try await s.orders.placeOrder(euroOrder, claim: nil, at: at(day + 30))
            let pay3 = makePayment(for: euroOrder, at: at(day + 30))
            try await s.orders.createPayment(pay3)
            _ = try await s.orders.payOrder(orderId: euroOrder.id, paymentId: pay3.id, at: at(day + 40))
            try await applyEvents(s, [first.id, unpaid.id, second.id, euroOrder.id])

            let all = try await s.stats.stats(from: day0, to: day0.adding(2))
            let usd = Dictionary((all.days["USD"] ?? []).map { ($0.date, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(usd[day0.description] == DayFigures(date: day0.description, revenue: 2_300, placed: 2, paid: 1))
            #expect(
                usd[day0.adding(1).description]
                    == DayFigures(date: day0.adding(1).description, revenue: 1_000, placed: 1, paid: 1, fulfilled: 1))
            #expect(usd[day0.adding(2).description] == DayFigures(date: day0.adding(2).description, refunds: 1_000, cancelled: 1))
            #expect(all.days["EUR"] == [DayFigures(date: day0.adding(1).description, revenue: 1_500, placed: 1, paid: 1)])
            let sold = (all.products["USD"] ?? []).sorted { $0.name < $1.name }
            #expect(
                sold == [
                    ProductSales(productId: lamp.id, name: "Lamp", units: 3, revenue: 3_000),
                    ProductSales(productId: mug.id, name: "Mug", units: 1, revenue: 300),
                ])
            #expect(all.products["EUR"] == [ProductSales(productId: euro.id, name: "Tasse", units: 3, revenue: 1_500)])

            // A period of the second day only.
            let one = try await s.stats.stats(from: day0.adding(1), to: day0.adding(1))
            #expect(one.days["USD"]?.map(\.date) == [day0.adding(1).description])
            #expect(one.products["USD"] == [ProductSales(productId: lamp.id, name: "Lamp", units: 1, revenue: 1_000)])
            #expect(try await s.stats.stats(from: day0.adding(10), to: day0.adding(20)).days.isEmpty)

            // Stock now: lamp 10 - 3 + 1 (the cancel) = 8, mug 4 - 2 = 2, Tasse 47.
            let low = try await s.stats.lowStock(below: 5, limit: 10)
            #expect(low.map(\.id) == [mug.id])
            #expect(low.first?.quantity == 2)
            #expect(try await s.stats.lowStock(below: 9, limit: 10).map(\.id) == [mug.id, lamp.id])
            #expect(try await s.stats.lowStock(below: 9, limit: 1).map(\.id) == [mug.id])
        }
    ]
}
