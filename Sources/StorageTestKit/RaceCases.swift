import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    static let raceCases: [Case] = [
        Case(name: "race: 50 buyers for the last 10 units sell exactly 10") { s in
            let p = makeProduct(quantity: 10)
            try await s.catalog.createProduct(p)
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        let order = makeOrder(userId: "buyer-\(i)", products: [(p, 1)])
                        do {
                            _ = try await s.orders.placeOrder(order, claim: nil, at: t0)
                            return true
                        } catch {
                            let soldOut = StorageError.outOfStock([StockShortage(productId: p.id, requested: 1, available: 0)])
                            #expect((error as? StorageError) == soldOut)
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 10)
            #expect(try await stock(s, p.id) == 0)
            let orders = try await allPages { try await s.orders.listOrders(userId: nil, status: nil, limit: 100, after: $0) }
            #expect(orders.reduce(0) { $0 + $1.lines[0].quantity } == 10)
        },
        Case(name: "race: concurrent cancel and expiry return the stock once") { s in
            for round in 0..<5 {
                let p = makeProduct(quantity: 10)
                try await s.catalog.createProduct(p)
                let order = makeOrder(products: [(p, 4)], at: at(Double(round)), ttl: 10)
                _ = try await s.orders.placeOrder(order, claim: nil, at: order.createdAt)
                let now = at(100)
                let results = await withTaskGroup(of: Bool.self) { group in
                    for i in 0..<6 {
                        group.addTask {
                            do {
                                _ = try await s.orders.transitionOrder(
                                    id: order.id, from: [.pendingPayment, .paid], to: .cancelled,
                                    expiredBy: i.isMultiple(of: 2) ? now : nil, at: now)
                                return true
                            } catch {
                                let refused = StorageError.invalidTransition(current: .cancelled)
                                #expect((error as? StorageError) == refused)
                                return false
                            }
                        }
                    }
                    return await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(results.filter { $0 }.count == 1)
                #expect(try await stock(s, p.id) == 10)
            }
        },
        Case(name: "race: concurrent stock moves all land, none below zero") { s in
            let p = makeProduct(quantity: 20)
            try await s.catalog.createProduct(p)
            let refused = await withTaskGroup(of: Int.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await s.catalog.adjustStock(id: p.id, delta: i.isMultiple(of: 2) ? 3 : -5, at: t0)
                            return 0
                        } catch {
                            return 1
                        }
                    }
                }
                return await group.reduce(0, +)
            }
            let final = try await stock(s, p.id) ?? -1
            #expect(final >= 0)
            // 20 adds of 3, (20 - refused) removals of 5.
            #expect(final == 20 + 60 - 5 * (20 - refused))
        },
        Case(name: "race: one edit wins per version") { s in
            let p = makeProduct()
            try await s.catalog.createProduct(p)
            let wins = await withTaskGroup(of: Int.self) { group in
                for i in 0..<10 {
                    group.addTask {
                        var fields = p.fields
                        fields.name = "Edit \(i)"
                        do {
                            _ = try await s.catalog.updateProduct(id: p.id, fields: fields, expectedVersion: 1, at: at(1))
                            return 1
                        } catch {
                            let stale = StorageError.versionMismatch(current: 2)
                            #expect((error as? StorageError) == stale)
                            return 0
                        }
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(wins == 1)
            #expect(try await s.catalog.product(id: p.id)?.version == 2)
        },
        Case(name: "race: one idempotency key used at once orders once") { s in
            let p = makeProduct(quantity: 100)
            try await s.catalog.createProduct(p)
            let claim = IdempotencyClaim(userId: "u", key: "same", requestHash: "h", expiresAt: at(86_400))
            let outcomes = await withTaskGroup(of: PlaceOrderOutcome?.self) { group in
                for _ in 0..<10 {
                    group.addTask { try? await s.orders.placeOrder(makeOrder(userId: "u", products: [(p, 3)]), claim: claim, at: t0) }
                }
                return await group.reduce(into: [PlaceOrderOutcome?]()) { $0.append($1) }
            }
            let created = outcomes.compactMap { if case .created(let o)? = $0 { o } else { nil } }
            let replayed = outcomes.compactMap { if case .replayed(let r)? = $0 { r } else { nil } }
            #expect(created.count == 1)
            #expect(replayed.count == 9)
            #expect(replayed.allSatisfy { $0.orderId == created.first?.id })
            #expect(try await stock(s, p.id) == 97)
        },
    ]
}

extension StorageConformance {
    static let openOrderCases: [Case] = [
        Case(name: "race: ten orders at once against a limit of three open orders: exactly three") { s in
            let p = makeProduct(quantity: 100)
            try await s.catalog.createProduct(p)
            let placed = await withTaskGroup(of: Order?.self) { group in
                for i in 0..<10 {
                    group.addTask {
                        let order = makeOrder(userId: "hoarder", products: [(p, 1)], at: at(Double(i)))
                        do {
                            _ = try await s.orders.placeOrder(order, claim: nil, maxOpenOrders: 3, at: order.createdAt)
                            return order
                        } catch {
                            #expect((error as? StorageError) == .tooManyOpenOrders(limit: 3))
                            return nil
                        }
                    }
                }
                return await group.reduce(into: [Order]()) { if let order = $1 { $0.append(order) } }
            }
            #expect(placed.count == 3)
            #expect(try await stock(s, p.id) == 97, "refused orders took no stock")
            // Another shopper is not affected.
            _ = try await s.orders.placeOrder(makeOrder(userId: "someone-else", products: [(p, 1)]), claim: nil, maxOpenOrders: 3, at: t0)
            // Leaving PENDING_PAYMENT (a cancel, a payment) frees a place.
            _ = try await s.orders.transitionOrder(id: placed[0].id, from: [.pendingPayment], to: .cancelled, expiredBy: nil, at: at(20))
            let fourth = makeOrder(userId: "hoarder", products: [(p, 1)], at: at(21))
            _ = try await s.orders.placeOrder(fourth, claim: nil, maxOpenOrders: 3, at: at(21))
            await #expect(throws: StorageError.tooManyOpenOrders(limit: 3)) {
                try await s.orders.placeOrder(
                    makeOrder(userId: "hoarder", products: [(p, 1)], at: at(22)), claim: nil, maxOpenOrders: 3, at: at(22))
            }
            let payment = makePayment(for: placed[1])
            try await s.orders.createPayment(payment)
            _ = try await s.orders.payOrder(orderId: placed[1].id, paymentId: payment.id, at: at(23))
            _ = try await s.orders.placeOrder(
                makeOrder(userId: "hoarder", products: [(p, 1)], at: at(24)), claim: nil, maxOpenOrders: 3, at: at(24))
        }
    ]
}
