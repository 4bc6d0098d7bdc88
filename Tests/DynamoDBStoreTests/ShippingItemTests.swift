import AWSWire
import AsyncHTTPClient
import Foundation
import ShopDomain
import ShopStorage
import Testing

@testable import DynamoDBStore

/// What only the DynamoDB items of "Ship it" can get wrong (the behaviour both stores share is in StorageTestKit):
/// orders written before shipping existed, the address books' `#COUNT` items, the settings item's version and
/// the attributes a fulfilment keeps in step. On moto, each test on fresh tables.
@Suite("DynamoDB shipping items (moto)")
struct ShippingItemTests {
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    static let home = Address(
        name: "Ada Lovelace", line1: "12 St James's Square", line2: "Flat 3", city: "London", region: nil, postalCode: "SW1Y 4JH",
        country: "GB", phone: "+44 20 7946 0000")

    static func put(_ store: DynamoDBStore, _ table: String, _ item: Item) async throws {
        _ = try await store.client.call("PutItem", DDBRequest(TableName: table, Item: item), as: Empty.self)
    }

    static func raw(_ store: DynamoDBStore, _ table: String, _ key: Item) async throws -> Item? {
        try await store.client.call("GetItem", DDBRequest(TableName: table, Key: key, ConsistentRead: true), as: GetItemOutput.self).Item
    }

    static func saved(_ id: String, user: String = "user-1", at seconds: Double = 0, _ address: Address = home) -> SavedAddress {
        let date = t0.addingTimeInterval(seconds)
        return SavedAddress(id: id, userId: user, address: address, createdAt: date, updatedAt: date)
    }

    static func addressCount(_ store: DynamoDBStore, _ user: String) async throws -> Int? {
        try await raw(store, store.tables.addresses, DynamoDBStore.addressKey(user, DynamoDBStore.addressCounterId))?["Count"]?.intValue
    }

    // MARK: orders

    @Test func anOrderWrittenBeforeShippingReadsWithTheDefaults() async throws {
        let store = try await Moto.freshStore()
        // Exactly the item the previous code wrote: no Subtotal, ShippingTotal, ShippingTax, TaxTotal, ShippingAddress,
        // ShippingMethod, Shipment, and lines without Tax.
        let id = Identifier.make(at: Self.t0)
        let item: Item = [
            "OrderID": .s(id), "UserID": .s("user-1"), "Status": .s("PAID"), "Total": .n("2500"), "Currency": .s("USD"),
            "CreatedAt": .int64(Self.t0.ms), "UpdatedAt": .int64(Self.t0.ms), "ExpiresAt": .int64(Self.t0.ms + 900_000),
            "KindShard": .s(DynamoDBStore.kindShard(id)), "SortKey": .s(DynamoDBStore.sortKey(createdAt: Self.t0.ms, id: id)),
            "UserStatus": .s("user-1#PAID"), "StatusShard": .s(DynamoDBStore.statusShard(id, .paid)),
            "Lines": .l([.m(["ProductID": .s("p-1"), "Name": .s("Mug"), "UnitPrice": .n("1250"), "Quantity": .n("2")])]),
        ]
        try await Self.put(store, store.tables.orders, item)

        let order = try #require(try await store.order(id: id))
        #expect(order.total == 2500 && order.subtotal == 2500)
        #expect(order.shippingTotal == 0 && order.shippingTax == 0 && order.taxTotal == 0)
        #expect(order.shippingAddress == nil && order.shippingMethod == nil && order.shipment == nil)
        #expect(order.lines == [OrderLine(productId: "p-1", name: "Mug", unitPrice: 1250, quantity: 2, tax: 0)])
        // And in a listing, which reads the index's copy.
        let listed = try await store.listOrders(userId: "user-1", status: nil, limit: 10, after: nil)
        #expect(listed.items == [order])

        // An old order is fulfilled like a new one; the shipment is added to its item, the rest stays as it was.
        let shipment = Shipment(carrier: "Royal Mail", trackingNumber: nil, trackingUrl: nil, shippedAt: Self.t0.addingTimeInterval(60))
        let fulfilled = try await store.fulfilOrder(id: id, shipment: shipment, at: Self.t0.addingTimeInterval(61))
        #expect(fulfilled.status == .fulfilled && fulfilled.shipment == shipment && fulfilled.subtotal == 2500)
        #expect(try await store.order(id: id) == fulfilled)
        let after = try #require(try await Self.raw(store, store.tables.orders, ["OrderID": .s(id)]))
        #expect(after["Subtotal"] == nil && after["TaxTotal"] == nil)
    }

    @Test func anOrderWithShippingRoundTrips() async throws {
        let store = try await Moto.freshStore()
        let product = Product(
            id: "p-1", name: "Mug", description: "", price: 1000, currency: "USD", quantity: 5, category: "kitchen", version: 1,
            createdAt: Self.t0, updatedAt: Self.t0)
        try await store.createProduct(product)
        let lines = [OrderLine(productId: "p-1", name: "Mug", unitPrice: 1000, quantity: 2, tax: 145)]
        let order = Order(
            id: Identifier.make(at: Self.t0), userId: "user-1", lines: lines, total: 2145 + 500 + 36, currency: "USD",
            status: .pendingPayment, createdAt: Self.t0, updatedAt: Self.t0, expiresAt: Self.t0.addingTimeInterval(900),
            shippingAddress: Address(
                name: "Ada", line1: "1 Main St", city: "Los Angeles", region: "CA", postalCode: "90001", country: "US"),
            shippingMethod: OrderShippingMethod(id: "standard", name: "Standard", price: 500, minDays: 3, maxDays: 5),
            subtotal: 2000, shippingTotal: 500, shippingTax: 36, taxTotal: 181)
        _ = try await store.placeOrder(order, claim: nil, maxOpenOrders: nil, at: Self.t0)
        #expect(try await store.order(id: order.id) == order)

        let item = try #require(try await Self.raw(store, store.tables.orders, ["OrderID": .s(order.id)]))
        #expect(item["Subtotal"] == .n("2000") && item["ShippingTotal"] == .n("500"))
        #expect(item["ShippingTax"] == .n("36") && item["TaxTotal"] == .n("181"))
        // Optional address fields are left out, not stored empty.
        guard case .m(let address)? = item["ShippingAddress"] else {
            Issue.record("no ShippingAddress map")
            return
        }
        #expect(address["Line2"] == nil && address["Phone"] == nil && address["Region"] == .s("CA"))
        #expect(item["Shipment"] == nil)
    }

    @Test func fulfillingKeepsTheIndexKeysInStepAndTouchesNoCounter() async throws {
        let store = try await Moto.freshStore()
        let product = Product(
            id: "p-1", name: "Mug", description: "", price: 1000, currency: "USD", quantity: 5, category: "kitchen", version: 1,
            createdAt: Self.t0, updatedAt: Self.t0)
        try await store.createProduct(product)
        let order = Order(
            id: Identifier.make(at: Self.t0), userId: "user-1",
            lines: [OrderLine(productId: "p-1", name: "Mug", unitPrice: 1000, quantity: 1)],
            total: 1000, currency: "USD", status: .pendingPayment, createdAt: Self.t0, updatedAt: Self.t0,
            expiresAt: Self.t0.addingTimeInterval(900))
        _ = try await store.placeOrder(order, claim: nil, maxOpenOrders: 3, at: Self.t0)
        let shipment = Shipment(carrier: nil, trackingNumber: nil, trackingUrl: nil, shippedAt: Self.t0.addingTimeInterval(10))

        // Not paid yet: refused, nothing written.
        await #expect(throws: StorageError.invalidTransition(current: .pendingPayment)) {
            try await store.fulfilOrder(id: order.id, shipment: shipment, at: Self.t0.addingTimeInterval(10))
        }
        _ = try await store.transitionOrder(
            id: order.id, from: [.pendingPayment], to: .paid, expiredBy: nil, at: Self.t0.addingTimeInterval(5))
        let counter = try await Self.raw(store, store.tables.orders, DynamoDBStore.openCounterKey("user-1"))?["OpenOrders"]

        let fulfilled = try await store.fulfilOrder(id: order.id, shipment: shipment, at: Self.t0.addingTimeInterval(10))
        #expect(fulfilled.status == .fulfilled && fulfilled.shipment == shipment && fulfilled.updatedAt == Self.t0.addingTimeInterval(10))
        let item = try #require(try await Self.raw(store, store.tables.orders, ["OrderID": .s(order.id)]))
        #expect(item["UserStatus"] == .s("user-1#FULFILLED"))
        #expect(item["StatusShard"] == .s(DynamoDBStore.statusShard(order.id, .fulfilled)))
        #expect(try await Self.raw(store, store.tables.orders, DynamoDBStore.openCounterKey("user-1"))?["OpenOrders"] == counter)
        #expect(try await store.product(id: "p-1")?.quantity == 4)
        #expect(try await store.listOrders(userId: "user-1", status: .fulfilled, limit: 10, after: nil).items == [fulfilled])
        #expect(try await store.listOrders(userId: nil, status: .fulfilled, limit: 10, after: nil).items == [fulfilled])
        #expect(try await store.listOrders(userId: nil, status: .paid, limit: 10, after: nil).items.isEmpty)

        // Twice: the second finds it FULFILLED.
        await #expect(throws: StorageError.invalidTransition(current: .fulfilled)) {
            try await store.fulfilOrder(id: order.id, shipment: shipment, at: Self.t0.addingTimeInterval(20))
        }
        await #expect(throws: StorageError.notFound) {
            try await store.fulfilOrder(id: "no-such-order", shipment: shipment, at: Self.t0)
        }
        await #expect(throws: StorageError.notFound) {
            try await store.fulfilOrder(id: "OPEN#user-1", shipment: shipment, at: Self.t0)
        }
    }

    // MARK: address books

    @Test func theCounterItemNeverShowsAndCountsInTheSameStep() async throws {
        let store = try await Moto.freshStore()
        try await store.addAddress(Self.saved("a-2", at: 2), limit: 3)
        let austin = Address(name: "Ada", line1: "1 Main St", city: "Austin", region: "TX", postalCode: "73301", country: "US")
        try await store.addAddress(Self.saved("a-1", at: 1, austin), limit: 3)
        try await store.addAddress(Self.saved("b-1", user: "user-2"), limit: 3)
        #expect(try await Self.addressCount(store, "user-1") == 2)
        #expect(try await Self.addressCount(store, "user-2") == 1)

        // Oldest first; the #COUNT item (which sorts first in the partition) is not an address.
        #expect(try await store.addresses(userId: "user-1").map(\.id) == ["a-1", "a-2"])
        #expect(try await store.address(userId: "user-1", id: DynamoDBStore.addressCounterId) == nil)
        await #expect(throws: StorageError.notFound) {
            try await store.deleteAddress(userId: "user-1", id: DynamoDBStore.addressCounterId)
        }
        await #expect(throws: StorageError.notFound) {
            try await store.updateAddress(userId: "user-1", id: DynamoDBStore.addressCounterId, address: Self.home, at: Self.t0)
        }
        await #expect(throws: StorageError.alreadyExists) {
            try await store.addAddress(Self.saved(DynamoDBStore.addressCounterId), limit: 3)
        }
        #expect(try await Self.addressCount(store, "user-1") == 2)

        // The same id again: refused, the count unchanged. Full: refused before the id is looked at.
        await #expect(throws: StorageError.alreadyExists) { try await store.addAddress(Self.saved("a-1", at: 5), limit: 3) }
        #expect(try await Self.addressCount(store, "user-1") == 2)
        try await store.addAddress(Self.saved("a-3", at: 3), limit: 3)
        await #expect(throws: StorageError.tooManyAddresses(limit: 3)) { try await store.addAddress(Self.saved("a-4", at: 4), limit: 3) }
        await #expect(throws: StorageError.tooManyAddresses(limit: 3)) { try await store.addAddress(Self.saved("a-1", at: 4), limit: 3) }
        #expect(try await Self.addressCount(store, "user-1") == 3)

        // Deleting frees a place; deleting what is not there (or someone else's) changes no count.
        try await store.deleteAddress(userId: "user-1", id: "a-2")
        await #expect(throws: StorageError.notFound) { try await store.deleteAddress(userId: "user-1", id: "a-2") }
        await #expect(throws: StorageError.notFound) { try await store.deleteAddress(userId: "user-2", id: "a-1") }
        #expect(try await Self.addressCount(store, "user-1") == 2)
        #expect(try await Self.addressCount(store, "user-2") == 1)
        try await store.addAddress(Self.saved("a-4", at: 4), limit: 3)
        #expect(try await store.addresses(userId: "user-1").map(\.id) == ["a-1", "a-3", "a-4"])
        #expect(try await store.addresses(userId: "user-3").isEmpty)
    }

    @Test func concurrentAddsNeverPassTheLimit() async throws {
        let store = try await Moto.freshStore()
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask { (try? await store.addAddress(Self.saved("a-\(i)", at: Double(i)), limit: 5)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        let stored = try await store.addresses(userId: "user-1")
        #expect(stored.count <= 5 && stored.count == outcomes.filter { $0 }.count)
        #expect(try await Self.addressCount(store, "user-1") == stored.count)
    }

    @Test func anUpdateReplacesTheAddressAndRemovesDroppedFields() async throws {
        let store = try await Moto.freshStore()
        try await store.addAddress(Self.saved("a-1"), limit: 20)
        let moved = Address(name: "Ada King", line1: "1 Main St", city: "Toronto", region: "ON", postalCode: "M5V 2T6", country: "CA")
        let updated = try await store.updateAddress(userId: "user-1", id: "a-1", address: moved, at: Self.t0.addingTimeInterval(30))
        #expect(
            updated
                == SavedAddress(id: "a-1", userId: "user-1", address: moved, createdAt: Self.t0, updatedAt: Self.t0.addingTimeInterval(30)))
        #expect(try await store.address(userId: "user-1", id: "a-1") == updated)
        let item = try #require(try await Self.raw(store, store.tables.addresses, DynamoDBStore.addressKey("user-1", "a-1")))
        #expect(item["Line2"] == nil && item["Phone"] == nil)
        await #expect(throws: StorageError.notFound) {
            try await store.updateAddress(userId: "user-2", id: "a-1", address: moved, at: Self.t0)
        }
        // A failed update made no item.
        #expect(try await Self.raw(store, store.tables.addresses, DynamoDBStore.addressKey("user-2", "a-1")) == nil)
        #expect(try await Self.addressCount(store, "user-1") == 1)
    }

    // MARK: settings

    @Test func settingsVersionsNeverSkipOrRepeat() async throws {
        let store = try await Moto.freshStore()
        #expect(try await store.storedSettings() == nil)
        var settings = StoreSettings.builtInDefault
        await #expect(throws: StorageError.versionMismatch(current: 0)) {
            try await store.putSettings(settings, expectedVersion: 1, at: Self.t0)
        }
        let first = try await store.putSettings(settings, expectedVersion: 0, at: Self.t0)
        #expect(first.version == 1 && first.updatedAt == Self.t0)
        #expect(try await store.storedSettings() == first)
        await #expect(throws: StorageError.versionMismatch(current: 1)) {
            try await store.putSettings(settings, expectedVersion: 0, at: Self.t0)
        }
        settings.pricesIncludeTax = true
        let second = try await store.putSettings(settings, expectedVersion: nil, at: Self.t0.addingTimeInterval(1))
        #expect(second.version == 2 && second.pricesIncludeTax)
        #expect(try await store.storedSettings() == second)
        let item = try #require(try await Self.raw(store, store.tables.settings, DynamoDBStore.settingsKey))
        #expect(
            item["Version"] == .n("2") && item["UpdatedAt"] == .int64(Self.t0.addingTimeInterval(1).ms) && item["Document"]?.string != nil)

        // Writers racing without an expected version each get their own version, one after the other.
        let racing = settings
        let versions = await withTaskGroup(of: Int?.self) { group in
            for i in 0..<4 {
                group.addTask {
                    try? await store.putSettings(racing, expectedVersion: nil, at: Self.t0.addingTimeInterval(Double(10 + i))).version
                }
            }
            return await group.reduce(into: [Int?]()) { $0.append($1) }
        }
        let written = versions.compactMap { $0 }.sorted()
        #expect(written == Array(3..<(3 + written.count)))
        #expect(try await store.storedSettings()?.version == 2 + written.count)
    }
}
