import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The merchant's figures on DynamoDB (docs/DYNAMODB.md, "The merchant's figures"): no scan at read time, and nothing
// in the order's own transaction (a day item written by every order would be the hottest item of all, and a product
// counter per line would take a 50-line cancel past the 100 actions of TransactWriteItems). Each order event is
// applied after it happened, from the outbox, once (a marker item in the same transaction), to:
// - `DAY#<currency>#<yyyy-mm>` / `<dd>#<shard>`: the day's counts and money, spread over 16 items by the order id and
//   summed on read;
// - `SOLD#<currency>#<yyyy-mm>` / `<dd>#<product id>`: what each product sold that day (paid orders);
// - `CURRENCIES` / `<currency>`: the currencies there are figures in;
// - `APPLIED#<event id>` / `-`: the event was applied.
// A month is one partition of each kind: a year's figures are 13 queries a currency.

extension DynamoDBStore: StatsStore {
    public var statsFromOutbox: Bool { true }

    static func month(_ day: UTCDay) -> (month: String, day: String) {
        let text = day.description
        return (String(text.prefix(7)), String(text.suffix(2)))
    }

    public func applyToStats(_ event: OrderEventRecord, order: Order) async throws(StorageError) {
        let day = UTCDay(event.occurredAt)
        let (month, dd) = Self.month(day)
        let currency = order.currency
        var add: [String: Int] = [:]
        switch event.type {
        case .placed: add["Placed"] = 1
        case .paid:
            add["Paid"] = 1
            add["Revenue"] = order.total
        case .fulfilled: add["Fulfilled"] = 1
        case .cancelled: add["Cancelled"] = 1
        case .refunded: add["Refunds"] = event.refundAmount ?? 0
        }
        var values: Item = [:]
        var parts: [String] = []
        for (index, (name, amount)) in add.sorted(by: { $0.key < $1.key }).enumerated() {
            parts.append("\(name) :v\(index)")
            values[":v\(index)"] = .int(amount)
        }
        var items: [DDBRequest.TransactItem] = [
            .init(
                Put: DDBRequest(
                    TableName: tables.stats, Item: ["PK": .s("APPLIED#" + event.id), "SK": .s("-"), "AppliedAt": .int64(Date().ms)],
                    ConditionExpression: "attribute_not_exists(PK)")),
            .init(
                Update: DDBRequest(
                    TableName: tables.stats,
                    Key: ["PK": .s("DAY#\(currency)#\(month)"), "SK": .s("\(dd)#\(Self.orderShard(order.id))")],
                    UpdateExpression: "ADD " + parts.joined(separator: ", "), ExpressionAttributeValues: values)),
            .init(Put: DDBRequest(TableName: tables.stats, Item: ["PK": .s("CURRENCIES"), "SK": .s(currency)])),
        ]
        if event.type == .paid {
            // Lines of one product are one line (the order rules), so each product item is updated once.
            for line in order.lines {
                items.append(
                    .init(
                        Update: DDBRequest(
                            TableName: tables.stats, Key: ["PK": .s("SOLD#\(currency)#\(month)"), "SK": .s("\(dd)#\(line.productId)")],
                            UpdateExpression: "SET ProductName = :name ADD Units :units, Revenue :revenue",
                            ExpressionAttributeValues: [
                                ":name": .s(line.name), ":units": .int(line.quantity), ":revenue": .int(line.lineTotal),
                            ])))
            }
        }
        switch try await transactWrite(items) {
        case .written:
            return
        case .cancelled(let reasons):
            // The marker exists: this event was applied before.
            if reasons.first?.reason == .conditionFailed { return }
            throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
        }
    }

    public func stats(from: UTCDay, to: UTCDay) async throws(StorageError) -> StatsFigures {
        let currencies = try await query(
            table: tables.stats, index: nil, keyCondition: "PK = :pk", names: [:], values: [":pk": .s("CURRENCIES")], forward: true,
            start: nil, want: 1000
        ).compactMap { $0["SK"]?.string }
        let (firstMonth, firstDay) = Self.month(from)
        let (lastMonth, lastDay) = Self.month(to)
        var months: [String] = []
        var day = from
        while day <= to {
            let m = Self.month(day).month
            if months.last != m { months.append(m) }
            day = day.adding(1)
        }
        var figures = StatsFigures()
        for currency in currencies {
            var days: [String: DayFigures] = [:]
            var sold: [String: ProductSales] = [:]
            for month in months {
                // Only the days in the period: the first and last month are cut by their sort keys ("<dd>#…"; "$" sorts
                // after "#", so "<dd>$" is past every item of day dd).
                let condition = "PK = :pk AND SK BETWEEN :from AND :to"
                var values: Item = [
                    ":from": .s(month == firstMonth ? firstDay : "00"), ":to": .s((month == lastMonth ? lastDay : "99") + "$"),
                ]
                values[":pk"] = .s("DAY#\(currency)#\(month)")
                for item in try await query(
                    table: tables.stats, index: nil, keyCondition: condition, names: [:], values: values, forward: true, start: nil,
                    want: 100_000)
                {
                    guard let sk = item["SK"]?.string else { continue }
                    let date = month + "-" + sk.prefix(2)
                    var f = days[date] ?? DayFigures(date: date)
                    f.add(
                        DayFigures(
                            date: date, revenue: item["Revenue"]?.intValue ?? 0, refunds: item["Refunds"]?.intValue ?? 0,
                            placed: item["Placed"]?.intValue ?? 0, paid: item["Paid"]?.intValue ?? 0,
                            fulfilled: item["Fulfilled"]?.intValue ?? 0,
                            cancelled: item["Cancelled"]?.intValue ?? 0))
                    days[date] = f
                }
                values[":pk"] = .s("SOLD#\(currency)#\(month)")
                for item in try await query(
                    table: tables.stats, index: nil, keyCondition: condition, names: [:], values: values, forward: true, start: nil,
                    want: 100_000)
                {
                    guard let sk = item["SK"]?.string, let cut = sk.firstIndex(of: "#") else { continue }
                    let productId = String(sk[sk.index(after: cut)...])
                    var s =
                        sold[productId] ?? ProductSales(productId: productId, name: item["ProductName"]?.string ?? "", units: 0, revenue: 0)
                    s.units += item["Units"]?.intValue ?? 0
                    s.revenue += item["Revenue"]?.intValue ?? 0
                    if let name = item["ProductName"]?.string { s.name = name }
                    sold[productId] = s
                }
            }
            if !days.isEmpty { figures.days[currency] = days.keys.sorted().compactMap { days[$0] } }
            if !sold.isEmpty { figures.products[currency] = Array(sold.values) }
        }
        return figures
    }

    public func lowStock(below: Int, limit: Int) async throws(StorageError) -> [Product] {
        guard below > 0 else { return [] }
        var found: [(quantity: Int, id: String)] = []
        for shard in 0..<DynamoDBSchema.orderShards {
            let items = try await query(
                table: tables.products, index: DynamoDBSchema.productsByStock, keyCondition: "StockShard = :s AND Quantity < :below",
                names: [:],
                values: [":s": .s("STOCK#\(shard)"), ":below": .int(below)], forward: true, start: nil, want: limit)
            found += items.compactMap { item in
                guard let id = item["ProductID"]?.string, let quantity = item["Quantity"]?.intValue else { return nil }
                return (quantity, id)
            }
        }
        let chosen = found.sorted { ($0.quantity, $0.id) < ($1.quantity, $1.id) }.prefix(limit).map(\.id)
        // The products as they are now (the index lags the table a little): still below the line.
        let products = Dictionary(try await products(ids: Array(chosen)).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return chosen.compactMap { products[$0] }.filter { $0.quantity < below }.sorted { ($0.quantity, $0.id) < ($1.quantity, $1.id) }
    }
}
