import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    static let orderCases: [Case] = [
        Case(name: "placing an order takes stock and stores the order") { s in
            let a = makeProduct(quantity: 5)
            let b = makeProduct(quantity: 2)
            try await s.catalog.createProduct(a)
            try await s.catalog.createProduct(b)
            let order = makeOrder(products: [(a, 3), (b, 2)])
            #expect(try await s.orders.placeOrder(order, claim: nil, at: t0) == .created(order))
            #expect(try await stock(s, a.id) == 2)
            #expect(try await stock(s, b.id) == 0)
            #expect(try await s.orders.order(id: order.id) == order)
            #expect(try await s.orders.order(id: "missing") == nil)
        },
        Case(name: "an order short on any line takes nothing and names every short line") { s in
            let a = makeProduct(quantity: 5)
            let b = makeProduct(quantity: 1)
            let c = makeProduct(quantity: 0)
            for p in [a, b, c] { try await s.catalog.createProduct(p) }
            let order = makeOrder(products: [(a, 2), (b, 3), (c, 1)])
            await #expect(
                throws: StorageError.outOfStock([
                    StockShortage(productId: b.id, requested: 3, available: 1),
                    StockShortage(productId: c.id, requested: 1, available: 0),
                ])
            ) {
                try await s.orders.placeOrder(order, claim: nil, at: t0)
            }
            #expect(try await stock(s, a.id) == 5)
            #expect(try await stock(s, b.id) == 1)
            #expect(try await s.orders.order(id: order.id) == nil)
        },
        Case(name: "an order for a deleted product takes nothing") { s in
            let a = makeProduct(quantity: 5)
            let gone = makeProduct(quantity: 5)
            try await s.catalog.createProduct(a)
            let order = makeOrder(products: [(a, 1), (gone, 1)])
            await #expect(throws: StorageError.productNotFound(gone.id)) { try await s.orders.placeOrder(order, claim: nil, at: t0) }
            #expect(try await stock(s, a.id) == 5)
        },
        Case(name: "an idempotency key replays instead of ordering twice, until it expires") { s in
            let a = makeProduct(quantity: 10)
            try await s.catalog.createProduct(a)
            let claim = IdempotencyClaim(userId: "user-1", key: "k1", requestHash: "h1", expiresAt: at(86_400))
            let first = makeOrder(products: [(a, 2)])
            #expect(try await s.orders.placeOrder(first, claim: claim, at: t0) == .created(first))
            let again = makeOrder(products: [(a, 2)], at: at(60))
            let outcome = try await s.orders.placeOrder(again, claim: claim, at: at(60))
            #expect(outcome == .replayed(IdempotencyRecord(claim: claim, orderId: first.id)))
            #expect(try await stock(s, a.id) == 8, "a replay takes no stock")
            #expect(try await s.orders.order(id: again.id) == nil)
            // Another user may use the same key.
            var other = claim
            other.userId = "user-2"
            let theirs = makeOrder(userId: "user-2", products: [(a, 1)], at: at(61))
            #expect(try await s.orders.placeOrder(theirs, claim: other, at: at(61)) == .created(theirs))
            // Once expired, the key is free again.
            var renewed = claim
            renewed.expiresAt = at(200_000)
            let later = makeOrder(products: [(a, 1)], at: at(90_000))
            #expect(try await s.orders.placeOrder(later, claim: renewed, at: at(90_000)) == .created(later))
            #expect(try await stock(s, a.id) == 6)
        },
        Case(name: "a live idempotency key is found by user and key, and an expired one is not") { s in
            let a = makeProduct(quantity: 10)
            try await s.catalog.createProduct(a)
            let claim = IdempotencyClaim(userId: "user-1", key: "k-look", requestHash: "h1", expiresAt: at(600))
            let order = makeOrder(products: [(a, 1)])
            _ = try await s.orders.placeOrder(order, claim: claim, at: t0)
            #expect(
                try await s.orders.idempotencyRecord(userId: "user-1", key: "k-look", at: at(10))
                    == IdempotencyRecord(claim: claim, orderId: order.id))
            #expect(try await s.orders.idempotencyRecord(userId: "user-2", key: "k-look", at: at(10)) == nil, "keys are per user")
            #expect(try await s.orders.idempotencyRecord(userId: "user-1", key: "other", at: at(10)) == nil)
            #expect(try await s.orders.idempotencyRecord(userId: "user-1", key: "k-look", at: at(600)) == nil, "expired at its expiresAt")
        },
        Case(name: "returned stock never goes above the limit; what fits goes back") { s in
            let ceiling = Limits.stockRange.upperBound
            let a = makeProduct(quantity: 10)
            let b = makeProduct(quantity: 10)
            try await s.catalog.createProduct(a)
            try await s.catalog.createProduct(b)
            let order = makeOrder(products: [(a, 4), (b, 4)])
            _ = try await s.orders.placeOrder(order, claim: nil, at: t0)
            // Restocked meanwhile: a to the limit, b to three under it.
            _ = try await s.catalog.adjustStock(id: a.id, delta: ceiling - 6, at: at(1))
            _ = try await s.catalog.adjustStock(id: b.id, delta: ceiling - 9, at: at(1))
            #expect(try await stock(s, a.id) == ceiling)
            #expect(try await stock(s, b.id) == ceiling - 3)
            _ = try await s.orders.transitionOrder(id: order.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: at(2))
            #expect(try await stock(s, a.id) == ceiling, "nothing fits: nothing returned")
            #expect(try await stock(s, b.id) == ceiling, "three of four fit")
            // Later adjustments still work, a negative one included.
            #expect(try await s.catalog.adjustStock(id: a.id, delta: -5, at: at(3)).quantity == ceiling - 5)
            await #expect(throws: StorageError.stockLimitExceeded(current: ceiling)) {
                try await s.catalog.adjustStock(id: b.id, delta: 1, at: at(3))
            }
            // Below the limit, a return adds every unit as before.
            let c = makeProduct(quantity: 10)
            try await s.catalog.createProduct(c)
            let small = makeOrder(products: [(c, 3)], at: at(4))
            _ = try await s.orders.placeOrder(small, claim: nil, at: at(4))
            _ = try await s.orders.transitionOrder(id: small.id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: at(5))
            #expect(try await stock(s, c.id) == 10)
        },
        Case(name: "purging drops only expired idempotency records") { s in
            let a = makeProduct(quantity: 10)
            try await s.catalog.createProduct(a)
            let old = IdempotencyClaim(userId: "u", key: "old", requestHash: "h", expiresAt: at(100))
            let live = IdempotencyClaim(userId: "u", key: "live", requestHash: "h", expiresAt: at(10_000))
            _ = try await s.orders.placeOrder(makeOrder(products: [(a, 1)]), claim: old, at: t0)
            let liveOrder = makeOrder(products: [(a, 1)], at: at(1))
            _ = try await s.orders.placeOrder(liveOrder, claim: live, at: at(1))
            #expect(try await s.orders.purgeIdempotencyRecords(before: at(200)) == 1)
            let replay = try await s.orders.placeOrder(makeOrder(products: [(a, 1)], at: at(300)), claim: live, at: at(300))
            #expect(replay == .replayed(IdempotencyRecord(claim: live, orderId: liveOrder.id)))
        },
        Case(name: "every allowed transition works and every other is refused without change") { s in
            for transition in OrderStatus.allCases.flatMap({ f in OrderStatus.allCases.map { (f, $0) } }) {
                let (from, to) = transition
                let a = makeProduct(quantity: 10)
                try await s.catalog.createProduct(a)
                let order = makeOrder(products: [(a, 4)])
                _ = try await s.orders.placeOrder(order, claim: nil, at: t0)
                // Walk the order to `from` along the state machine.
                let path: [OrderStatus] =
                    switch from {
                    case .pendingPayment: []
                    case .paid: [.paid]
                    case .fulfilled: [.paid, .fulfilled]
                    case .cancelled: [.cancelled]
                    }
                for step in path {
                    _ = try await s.orders.transitionOrder(
                        id: order.id, from: OrderStatus.sources(of: step), to: step, expiredBy: nil, at: at(1))
                }
                let stockBefore = try await stock(s, a.id)
                if from.canTransition(to: to) {
                    let moved = try await s.orders.transitionOrder(id: order.id, from: [from], to: to, expiredBy: nil, at: at(5))
                    #expect(moved.status == to, "\(from) -> \(to)")
                    #expect(moved.updatedAt == at(5))
                    #expect(try await stock(s, a.id) == stockBefore! + (to.returnsStock ? 4 : 0), "\(from) -> \(to)")
                } else {
                    await #expect(throws: StorageError.invalidTransition(current: from), "\(from) -> \(to)") {
                        try await s.orders.transitionOrder(
                            id: order.id, from: OrderStatus.sources(of: to), to: to, expiredBy: nil, at: at(5))
                    }
                    #expect(try await s.orders.order(id: order.id)?.status == from)
                    #expect(try await stock(s, a.id) == stockBefore)
                }
            }
            await #expect(throws: StorageError.notFound) {
                try await s.orders.transitionOrder(id: "missing", from: [.pendingPayment], to: .paid, expiredBy: nil, at: t0)
            }
        },
        Case(name: "expiry only cancels orders that are due") { s in
            let a = makeProduct(quantity: 10)
            try await s.catalog.createProduct(a)
            let due = makeOrder(products: [(a, 2)], at: t0, ttl: 100)
            let notYet = makeOrder(products: [(a, 3)], at: t0, ttl: 1_000)
            _ = try await s.orders.placeOrder(due, claim: nil, at: t0)
            _ = try await s.orders.placeOrder(notYet, claim: nil, at: t0)
            #expect(try await s.orders.dueOrders(now: at(500), limit: 10).map(\.id) == [due.id])
            await #expect(throws: StorageError.invalidTransition(current: .pendingPayment)) {
                try await s.orders.transitionOrder(id: notYet.id, from: [.pendingPayment], to: .cancelled, expiredBy: at(500), at: at(500))
            }
            let expired = try await s.orders.transitionOrder(
                id: due.id, from: [.pendingPayment], to: .cancelled, expiredBy: at(500), at: at(500))
            #expect(expired.status == .cancelled)
            #expect(try await stock(s, a.id) == 7)
            #expect(try await s.orders.dueOrders(now: at(500), limit: 10).isEmpty)
            #expect(try await s.orders.dueOrders(now: at(1_000), limit: 10).map(\.id) == [notYet.id])
        },
        Case(name: "orders list newest first, per user and status, in pages") { s in
            let a = makeProduct(quantity: 1_000)
            try await s.catalog.createProduct(a)
            var mine: [Order] = []
            for i in 0..<7 {
                let o = makeOrder(userId: "me", products: [(a, 1)], at: at(Double(i)))
                _ = try await s.orders.placeOrder(o, claim: nil, at: o.createdAt)
                mine.append(o)
                let t = makeOrder(userId: "them", products: [(a, 1)], at: at(Double(i)))
                _ = try await s.orders.placeOrder(t, claim: nil, at: t.createdAt)
            }
            // Two orders in the same millisecond still get a stable order.
            let twin = makeOrder(userId: "me", products: [(a, 1)], at: at(6))
            _ = try await s.orders.placeOrder(twin, claim: nil, at: twin.createdAt)
            mine.append(twin)
            let listed = try await allPages { try await s.orders.listOrders(userId: "me", status: nil, limit: 3, after: $0) }
            #expect(listed.map(\.id) == mine.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.map(\.id))
            #expect(listed.allSatisfy { $0.userId == "me" })
            let everyone = try await allPages { try await s.orders.listOrders(userId: nil, status: nil, limit: 4, after: $0) }
            #expect(everyone.count == 15)
            _ = try await s.orders.transitionOrder(id: mine[0].id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: at(20))
            let cancelled = try await allPages { try await s.orders.listOrders(userId: nil, status: .cancelled, limit: 4, after: $0) }
            #expect(cancelled.map(\.id) == [mine[0].id])
            await #expect(throws: StorageError.badPageKey) {
                try await s.orders.listOrders(userId: "me", status: nil, limit: 3, after: "garbage")
            }
        },
    ]
}
