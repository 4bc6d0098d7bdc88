import Foundation
import ShopDomain
import Testing

private func product(_ id: String, name: String? = nil, price: Int, currency: String = "USD", quantity: Int = 100)
    -> Product
{
    Product(
        id: id, name: name ?? "Product \(id)", description: "", price: price, currency: currency,
        quantity: quantity, category: "misc", createdAt: referenceDate, updatedAt: referenceDate)
}

private func catalog(_ products: Product...) -> [String: Product] {
    Dictionary(uniqueKeysWithValues: products.map { ($0.id, $0) })
}

private func price(
    _ request: OrderRequest, _ catalog: [String: Product], at now: Date = referenceDate, ttl: Duration = .seconds(900)
) throws(OrderPricingError) -> Order {
    try Order.price(id: "order-1", userId: "user-1", request: request, catalog: catalog, at: now, ttl: ttl)
}

@Suite("Order.price")
struct OrderPricingTests {
    let shop = catalog(
        product("mug", name: "Coffee mug", price: 1_299),
        product("pen", name: "Fountain pen", price: 4_500),
        product("tea", name: "Green tea", price: 850),
        product("eur", name: "Croissant", price: 250, currency: "EUR"))

    @Test("unit prices and names come from the catalog; lineTotal = unitPrice × quantity")
    func linesFromCatalog() throws {
        let order = try price(OrderRequest(lines: [.init(productId: "mug", quantity: 3), .init(productId: "pen", quantity: 1)]), shop)
        #expect(
            order.lines == [
                OrderLine(productId: "mug", name: "Coffee mug", unitPrice: 1_299, quantity: 3),
                OrderLine(productId: "pen", name: "Fountain pen", unitPrice: 4_500, quantity: 1),
            ])
        #expect(order.lines[0].lineTotal == 3_897)
        #expect(order.lines[1].lineTotal == 4_500)
        for line in order.lines {
            #expect(line.lineTotal == line.unitPrice * line.quantity)
        }
    }

    @Test("the total is the sum of the line totals")
    func totalIsSum() throws {
        let order = try price(
            OrderRequest(lines: [
                .init(productId: "mug", quantity: 2), .init(productId: "pen", quantity: 3), .init(productId: "tea", quantity: 10),
            ]), shop)
        #expect(order.total == 2 * 1_299 + 3 * 4_500 + 10 * 850)
        #expect(order.total == order.lines.reduce(0) { $0 + $1.lineTotal })
        #expect(order.currency == "USD")
    }

    @Test("lines keep the order of the request")
    func lineOrderKept() throws {
        let order = try price(
            OrderRequest(lines: [
                .init(productId: "tea", quantity: 1), .init(productId: "mug", quantity: 1), .init(productId: "pen", quantity: 1),
            ]), shop)
        #expect(order.lines.map(\.productId) == ["tea", "mug", "pen"])
    }

    @Test("a price sent by the client is ignored: the request has no price to carry")
    func clientPriceIgnored() throws {
        let json = #"{"lines":[{"productId":"mug","quantity":2,"unitPrice":1,"price":1,"lineTotal":2}],"total":2}"#
        let request = try JSONDecoder().decode(OrderRequest.self, from: Data(json.utf8))
        #expect(request == OrderRequest(lines: [.init(productId: "mug", quantity: 2)]))
        let order = try price(request, shop)
        #expect(order.lines.first?.unitPrice == 1_299)
        #expect(order.total == 2_598)
    }

    @Test("the price is frozen: the catalog's price at the time of the call is used")
    func priceFollowsCatalog() throws {
        let request = OrderRequest(lines: [.init(productId: "mug", quantity: 2)])
        var changed = shop
        changed["mug"]?.variants[0].price = 1_499
        let before = try price(request, shop)
        let after = try price(request, changed)
        #expect(before.lines.first?.unitPrice == 1_299)
        #expect(before.total == 2_598)
        #expect(after.lines.first?.unitPrice == 1_499)
        #expect(after.total == 2_998)
    }

    @Test("the order takes the products' currency")
    func currencyFromProducts() throws {
        let order = try price(OrderRequest(lines: [.init(productId: "eur", quantity: 4)]), shop)
        #expect(order.currency == "EUR")
        #expect(order.total == 1_000)
    }

    @Test("id, user, status and timestamps are set")
    func metadata() throws {
        let now = Date(timeIntervalSince1970: 1_750_000_000.25)
        let order = try Order.price(
            id: "o-42", userId: "u-7", request: OrderRequest(lines: [.init(productId: "mug", quantity: 1)]),
            catalog: shop, at: now, ttl: .seconds(900))
        #expect(order.id == "o-42")
        #expect(order.userId == "u-7")
        #expect(order.status == .pendingPayment)
        #expect(order.createdAt == now)
        #expect(order.updatedAt == now)
        #expect(order.expiresAt == now.addingTimeInterval(900))
    }

    @Test(
        "expiresAt = now + ttl",
        arguments: [
            (Duration.seconds(0), 0.0),
            (.seconds(1), 1.0),
            (.milliseconds(1_500), 1.5),
            (.seconds(15 * 60), 900.0),
            (.seconds(86_400), 86_400.0),
        ])
    func expiresAt(_ ttl: Duration, _ seconds: Double) throws {
        let order = try price(OrderRequest(lines: [.init(productId: "mug", quantity: 1)]), shop, ttl: ttl)
        #expect(order.expiresAt == referenceDate.addingTimeInterval(seconds))
        #expect(order.expiresAt.timeIntervalSince(order.createdAt) == seconds)
    }

    @Test("an unknown product is an error naming it")
    func unknownProduct() {
        #expect(throws: OrderPricingError.unknownProduct("nope")) {
            try price(OrderRequest(lines: [.init(productId: "mug", quantity: 1), .init(productId: "nope", quantity: 1)]), shop)
        }
        #expect(throws: OrderPricingError.unknownProduct("ghost")) {
            try price(OrderRequest(lines: [.init(productId: "ghost", quantity: 1)]), [:])
        }
    }

    @Test("products in different currencies cannot share an order")
    func mixedCurrencies() {
        #expect(throws: OrderPricingError.mixedCurrencies) {
            try price(OrderRequest(lines: [.init(productId: "mug", quantity: 1), .init(productId: "eur", quantity: 1)]), shop)
        }
        #expect(throws: OrderPricingError.mixedCurrencies) {
            try price(
                OrderRequest(lines: [
                    .init(productId: "eur", quantity: 1), .init(productId: "tea", quantity: 1), .init(productId: "pen", quantity: 1),
                ]), shop)
        }
    }

    @Test("the largest legal order at the highest price does not overflow")
    func largestOrder() throws {
        let products = (0..<50).map { product("p\($0)", price: 100_000_000) }
        let request = OrderRequest(lines: products.map { .init(productId: $0.id, quantity: 1_000) })
        try request.validate()
        let order = try price(request, Dictionary(uniqueKeysWithValues: products.map { ($0.id, $0) }))
        #expect(order.lines.allSatisfy { $0.lineTotal == 100_000_000_000 })
        #expect(order.total == 5_000_000_000_000)
    }

    @Test("OrderLine computes its own lineTotal")
    func orderLineTotal() {
        #expect(OrderLine(productId: "x", name: "X", unitPrice: 7, quantity: 6).lineTotal == 42)
        #expect(OrderLine(productId: "x", name: "X", unitPrice: 100_000_000, quantity: 1_000).lineTotal == 100_000_000_000)
    }

    @Test(
        "Duration.seconds converts exactly",
        arguments: [
            (Duration.zero, 0.0),
            (.seconds(5), 5.0),
            (.milliseconds(250), 0.25),
            (.milliseconds(-1_500), -1.5),
            (.seconds(3_600) + .milliseconds(500), 3_600.5),
        ])
    func durationSeconds(_ duration: Duration, _ expected: Double) {
        #expect(duration.seconds == expected)
    }
}
