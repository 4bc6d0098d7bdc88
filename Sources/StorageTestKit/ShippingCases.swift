import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    static let address = Address(
        name: "Ada Lovelace", line1: "1 Main St", line2: nil, city: "Portland", region: "OR", postalCode: "97201", country: "US", phone: nil
    )

    static func settings(currency: String = "USD") -> StoreSettings {
        var settings = StoreSettings.builtInDefault
        settings.currency = currency
        return settings
    }

    static let shippingCases: [Case] = [
        Case(name: "settings: none stored, then versions 1, 2, … with If-Match checked") { s in
            #expect(try await s.settings.storedSettings() == nil)
            await #expect(throws: StorageError.versionMismatch(current: 0)) {
                try await s.settings.putSettings(settings(), expectedVersion: 3, at: t0)
            }
            let first = try await s.settings.putSettings(settings(), expectedVersion: 0, at: at(1))
            #expect(first.version == 1)
            #expect(first.updatedAt == at(1))
            #expect(first.shippingZones == StoreSettings.builtInDefault.shippingZones)
            #expect(try await s.settings.storedSettings() == first)
            #expect(try await s.settings.storedSettings() == first, "read twice: the same, decoded or kept")
            let second = try await s.settings.putSettings(settings(currency: "EUR"), expectedVersion: 1, at: at(2))
            #expect(second.version == 2 && second.currency == "EUR")
            #expect(try await s.settings.storedSettings() == second, "a new version is read at once, never the one kept")
            await #expect(throws: StorageError.versionMismatch(current: 2)) {
                try await s.settings.putSettings(settings(), expectedVersion: 1, at: at(3))
            }
            let unconditional = try await s.settings.putSettings(settings(currency: "GBP"), expectedVersion: nil, at: at(4))
            #expect(unconditional.version == 3)
            #expect(try await s.settings.storedSettings() == unconditional)
        },
        Case(name: "settings: concurrent conditional puts on one version, exactly one wins") { s in
            _ = try await s.settings.putSettings(settings(), expectedVersion: 0, at: t0)
            let wins = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<6 {
                    group.addTask {
                        (try? await s.settings.putSettings(settings(currency: "C\(i)X"), expectedVersion: 1, at: at(1))) != nil
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
            #expect(try await s.settings.storedSettings()?.version == 2)
        },
        Case(name: "address book: add, list oldest first, update, delete; someone else's is not found") { s in
            let a = SavedAddress(id: "addr-a", userId: "u1", address: address, createdAt: t0, updatedAt: t0)
            var other = address
            other.city = "Salem"
            other.postalCode = "97301"
            let b = SavedAddress(id: "addr-b", userId: "u1", address: other, createdAt: at(1), updatedAt: at(1))
            try await s.addresses.addAddress(b, limit: 20)
            try await s.addresses.addAddress(a, limit: 20)
            #expect(try await s.addresses.addresses(userId: "u1") == [a, b])
            #expect(try await s.addresses.addresses(userId: "u2") == [])
            #expect(try await s.addresses.address(userId: "u1", id: "addr-a") == a)
            #expect(try await s.addresses.address(userId: "u2", id: "addr-a") == nil)
            await #expect(throws: StorageError.alreadyExists) { try await s.addresses.addAddress(a, limit: 20) }
            var moved = address
            moved.line1 = "2 Main St"
            let updated = try await s.addresses.updateAddress(userId: "u1", id: "addr-a", address: moved, at: at(5))
            #expect(updated.address == moved && updated.updatedAt == at(5) && updated.createdAt == t0)
            await #expect(throws: StorageError.notFound) {
                try await s.addresses.updateAddress(userId: "u2", id: "addr-a", address: moved, at: at(6))
            }
            await #expect(throws: StorageError.notFound) { try await s.addresses.deleteAddress(userId: "u2", id: "addr-a") }
            try await s.addresses.deleteAddress(userId: "u1", id: "addr-a")
            await #expect(throws: StorageError.notFound) { try await s.addresses.deleteAddress(userId: "u1", id: "addr-a") }
            #expect(try await s.addresses.addresses(userId: "u1") == [b])
        },
        Case(name: "address book: the limit holds, counted in the same step, and frees up on delete") { s in
            for i in 0..<3 {
                try await s.addresses.addAddress(
                    SavedAddress(id: "l\(i)", userId: "u1", address: address, createdAt: at(Double(i)), updatedAt: t0), limit: 3)
            }
            await #expect(throws: StorageError.tooManyAddresses(limit: 3)) {
                try await s.addresses.addAddress(
                    SavedAddress(id: "l3", userId: "u1", address: address, createdAt: at(3), updatedAt: t0), limit: 3)
            }
            try await s.addresses.addAddress(SavedAddress(id: "x0", userId: "u2", address: address, createdAt: t0, updatedAt: t0), limit: 3)
            try await s.addresses.deleteAddress(userId: "u1", id: "l0")
            try await s.addresses.addAddress(
                SavedAddress(id: "l4", userId: "u1", address: address, createdAt: at(4), updatedAt: t0), limit: 3)
            #expect(try await s.addresses.addresses(userId: "u1").map(\.id) == ["l1", "l2", "l4"])
            // Racing adds never pass the limit.
            let added = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        (try? await s.addresses.addAddress(
                            SavedAddress(id: "r\(i)", userId: "u3", address: address, createdAt: at(Double(10 + i)), updatedAt: t0),
                            limit: 5)) != nil
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(added == 5)
            #expect(try await s.addresses.addresses(userId: "u3").count == 5)
        },
        Case(name: "an order keeps its address, method and money breakdown; fulfilling records the shipment") { s in
            let p = makeProduct(price: 1450, quantity: 10)
            try await s.catalog.createProduct(p)
            var order = makeOrder(products: [(p, 2)])
            order.lines[0].tax = 210
            order.lines[0].name = "Mug \"Ünïcode\" \\ /\n\u{02} 🫖"
            // Text a hand-written JSON writer could get wrong reads back exactly.
            var tricky = address
            tricky.line2 = "Apt \"4\" \\ back/slash, café 東京 🫖\n\t\u{01}"
            tricky.phone = "+1 (503) 555-0100"
            order.shippingAddress = tricky
            order.shippingMethod = OrderShippingMethod(id: "standard", name: "Standard", price: 500, minDays: 3, maxDays: 5)
            order.subtotal = 2900
            order.shippingTotal = 500
            order.shippingTax = 0
            order.taxTotal = 210
            order.total = 3610
            #expect(try await s.orders.placeOrder(order, claim: nil, at: t0) == .created(order))
            #expect(try await s.orders.order(id: order.id) == order)
            let shipment = Shipment(carrier: "UPS", trackingNumber: "1Z 999", trackingUrl: "https://ups.example/1Z999", shippedAt: at(10))
            await #expect(throws: StorageError.invalidTransition(current: .pendingPayment)) {
                try await s.orders.fulfilOrder(id: order.id, shipment: shipment, at: at(10))
            }
            let payment = PaymentRecord(
                id: "pi_ship", orderId: order.id, userId: order.userId, provider: .simulated, status: .requiresPaymentMethod, amount: 3610,
                currency: "USD", clientSecret: "s", createdAt: t0, updatedAt: t0)
            try await s.orders.createPayment(payment)
            _ = try await s.orders.payOrder(orderId: order.id, paymentId: payment.id, at: at(5))
            let fulfilled = try await s.orders.fulfilOrder(id: order.id, shipment: shipment, at: at(10))
            #expect(fulfilled.status == .fulfilled)
            #expect(fulfilled.shipment == shipment)
            let stored = try #require(try await s.orders.order(id: order.id))
            #expect(stored.status == .fulfilled && stored.shipment == shipment && stored.shippingAddress == tricky)
            #expect(
                try await s.orders.listOrders(userId: order.userId, status: .fulfilled, limit: 10, after: nil).items.map(\.id) == [order.id]
            )
            await #expect(throws: StorageError.invalidTransition(current: .fulfilled)) {
                try await s.orders.fulfilOrder(id: order.id, shipment: shipment, at: at(11))
            }
            await #expect(throws: StorageError.notFound) { try await s.orders.fulfilOrder(id: "missing", shipment: shipment, at: at(11)) }
            #expect(try await stock(s, p.id) == 8, "fulfilling returns no stock")
        },
    ]
}
