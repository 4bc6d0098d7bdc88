import AWSWire
import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension DynamoDBStore {
    /// The value of the sparse `DueFlag` attribute that puts a payment in the `RefundDue` index.
    static let dueFlag = "DUE"

    static func item(_ p: PaymentRecord) -> Item {
        var item: Item = [
            "PaymentID": .s(p.id), "OrderID": .s(p.orderId), "UserID": .s(p.userId), "Provider": .s(p.provider.rawValue),
            "Status": .s(p.status.rawValue), "Amount": .int(p.amount), "Currency": .s(p.currency), "ClientSecret": .s(p.clientSecret),
            "RefundedAmount": .int(p.refundedAmount), "RefundDue": .int(p.refundDue), "RefundFailures": .int(p.refundFailures),
            "CreatedAt": .int64(p.createdAt.ms),
            "UpdatedAt": .int64(p.updatedAt.ms),
        ]
        if let code = p.failureCode { item["FailureCode"] = .s(code) }
        if let message = p.failureMessage { item["FailureMessage"] = .s(message) }
        if p.refundDue > 0 { item["DueFlag"] = .s(dueFlag) }
        return item
    }

    static func payment(_ item: Item) throws(StorageError) -> PaymentRecord {
        try decode {
            let r = ItemReader(item: item)
            guard let provider = PaymentProvider(rawValue: try r.string("Provider")) else { throw MalformedItem(attribute: "Provider") }
            guard let status = PaymentStatus(rawValue: try r.string("Status")) else { throw MalformedItem(attribute: "Status") }
            return PaymentRecord(
                id: try r.string("PaymentID"), orderId: try r.string("OrderID"), userId: try r.string("UserID"), provider: provider,
                status: status, amount: try r.int("Amount"), currency: try r.string("Currency"), clientSecret: try r.string("ClientSecret"),
                failureCode: r.optionalString("FailureCode"), failureMessage: r.optionalString("FailureMessage"),
                refundedAmount: try r.int("RefundedAmount"), refundDue: try r.int("RefundDue"),
                refundFailures: r.optionalInt("RefundFailures") ?? 0,
                createdAt: Date(unixMillis: try r.int64("CreatedAt")), updatedAt: Date(unixMillis: try r.int64("UpdatedAt")))
        }
    }
}

extension DynamoDBStore: PaymentStore {
    public func createPayment(_ payment: PaymentRecord) async throws(StorageError) {
        let put = DDBRequest(TableName: tables.payments, Item: Self.item(payment), ConditionExpression: "attribute_not_exists(PaymentID)")
        guard try await write(.init(Put: put)) else { throw .alreadyExists }
    }

    public func payment(id: String) async throws(StorageError) -> PaymentRecord? {
        try await get(tables.payments, ["PaymentID": .s(id)]).map { item throws(StorageError) in try Self.payment(item) }
    }

    public func payments(orderId: String) async throws(StorageError) -> [PaymentRecord] {
        // The index is eventually consistent; each entry is read again from the table.
        let keys = try await query(
            table: tables.payments, index: DynamoDBSchema.paymentsByOrder, keyCondition: "OrderID = :o", names: [:],
            values: [":o": .s(orderId)], forward: false, start: nil, want: 100)
        var found: [PaymentRecord] = []
        for key in keys {
            guard let id = key["PaymentID"]?.string, let payment = try await payment(id: id) else { continue }
            found.append(payment)
        }
        return found
    }

    public func updatePayment(
        id: String, status: PaymentStatus, failureCode: String?, failureMessage: String?, at now: Date
    ) async throws(StorageError) -> PaymentRecord {
        // Setting the same values again is harmless, so this write may be repeated; a final status stays final.
        var set = ["#s = :s", "UpdatedAt = :now"]
        var values: Item = [":s": .s(status.rawValue), ":now": .int64(now.ms), ":ok": .s("succeeded"), ":cx": .s("canceled")]
        if let failureCode {
            set.append("FailureCode = :fc")
            values[":fc"] = .s(failureCode)
        }
        if let failureMessage {
            set.append("FailureMessage = :fm")
            values[":fm"] = .s(failureMessage)
        }
        _ = try await conditional(
            "UpdateItem",
            DDBRequest(
                TableName: tables.payments, Key: ["PaymentID": .s(id)],
                ConditionExpression: "attribute_exists(PaymentID) AND #s <> :ok AND #s <> :cx",
                UpdateExpression: "SET " + set.joined(separator: ", "), ExpressionAttributeNames: ["#s": "Status"],
                ExpressionAttributeValues: values))
        guard let current = try await payment(id: id) else { throw .notFound }
        return current
    }

    public func payOrder(orderId: String, paymentId: String, at now: Date) async throws(StorageError) -> Order {
        guard let pending = try await order(id: orderId) else { throw .notFound }
        let outcome = try await transactWrite([
            .init(
                Update: DDBRequest(
                    TableName: tables.orders, Key: ["OrderID": .s(orderId)], ConditionExpression: "#s = :pending",
                    UpdateExpression: "SET #s = :paid, PaymentID = :p, UpdatedAt = :now, UserStatus = :us, StatusShard = :ss",
                    ExpressionAttributeNames: ["#s": "Status"],
                    ExpressionAttributeValues: [
                        ":pending": .s(OrderStatus.pendingPayment.rawValue), ":paid": .s(OrderStatus.paid.rawValue), ":p": .s(paymentId),
                        ":now": .int64(now.ms), ":us": .s(Self.userStatus(pending.userId, .paid)),
                        ":ss": .s(Self.statusShard(orderId, .paid)),
                    ])),
            .init(
                Update: DDBRequest(
                    TableName: tables.payments, Key: ["PaymentID": .s(paymentId)], ConditionExpression: "attribute_exists(PaymentID)",
                    UpdateExpression: "SET #s = :ok, UpdatedAt = :now", ExpressionAttributeNames: ["#s": "Status"],
                    ExpressionAttributeValues: [":ok": .s(PaymentStatus.succeeded.rawValue), ":now": .int64(now.ms)])),
            // The order leaves PENDING_PAYMENT (the condition above makes sure): one fewer open order.
            openCounterUpdate(pending.userId, by: -1),
            eventPut(.transition(order: pending, to: .paid, previous: .pendingPayment, cancelledBy: nil, at: now)),
        ])
        guard let order = try await order(id: orderId) else { throw .notFound }
        switch outcome {
        case .written:
            return order
        case .cancelled(let reasons):
            if reasons.first?.reason == .conditionFailed { throw .invalidTransition(current: order.status) }
            if reasons.count > 1, reasons[1].reason == .conditionFailed { throw .notFound }
            throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
        }
    }

    public func payingPaymentId(orderId: String) async throws(StorageError) -> String? {
        try await get(tables.orders, ["OrderID": .s(orderId)])?["PaymentID"]?.string
    }

    public func markRefundDue(paymentId: String, at now: Date) async throws(StorageError) -> Bool {
        // Conditioned on nothing due and nothing refunded: a repeat (or a second caller) changes nothing.
        try await write(
            .init(
                Update: DDBRequest(
                    TableName: tables.payments, Key: ["PaymentID": .s(paymentId)],
                    ConditionExpression: "attribute_exists(PaymentID) AND RefundDue = :zero AND RefundedAmount = :zero",
                    UpdateExpression: "SET RefundDue = Amount, DueFlag = :due, UpdatedAt = :now",
                    ExpressionAttributeValues: [":zero": .int(0), ":due": .s(Self.dueFlag), ":now": .int64(now.ms)])))
    }

    public func recordRefund(paymentId: String, refundedAmount: Int, at now: Date) async throws(StorageError) -> PaymentRecord {
        for _ in 0..<5 {
            guard let current = try await payment(id: paymentId) else { throw .notFound }
            let refunded = max(current.refundedAmount, refundedAmount)
            let due = max(0, current.refundDue - (refunded - current.refundedAmount))
            if refunded == current.refundedAmount && due == current.refundDue {
                if due == 0 {
                    // Nothing owed: make sure the payment is not left in the refunds-due index.
                    _ = try await conditional(
                        "UpdateItem",
                        DDBRequest(TableName: tables.payments, Key: ["PaymentID": .s(paymentId)], UpdateExpression: "REMOVE DueFlag"))
                }
                return current
            }
            let update = DDBRequest(
                TableName: tables.payments, Key: ["PaymentID": .s(paymentId)],
                ConditionExpression: "RefundedAmount = :was AND RefundDue = :wasDue",
                UpdateExpression: "SET RefundedAmount = :refunded, RefundDue = :due, UpdatedAt = :now"
                    + (due == 0 ? " REMOVE DueFlag" : ""),
                ExpressionAttributeValues: [
                    ":was": .int(current.refundedAmount), ":wasDue": .int(current.refundDue), ":refunded": .int(refunded),
                    ":due": .int(due),
                    ":now": .int64(now.ms),
                ])
            // Conditioned on what was read: a repeat after a lost answer fails the condition and reads again. With the
            // refunded total grown, its `order.refunded` event is written in the same transaction.
            var written = current
            written.refundedAmount = refunded
            written.refundDue = due
            let event = OrderEventRecord.refunded(payment: written, amount: refunded - current.refundedAmount, at: now)
            let items: [DDBRequest.TransactItem] =
                refunded > current.refundedAmount ? [.init(Update: update), eventPut(event)] : [.init(Update: update)]
            switch try await transactWrite(items) {
            case .written:
                if let updated = try await payment(id: paymentId) { return updated }
            case .cancelled(let reasons):
                guard reasons.isEmpty || reasons.contains(where: { $0.reason == .conditionFailed }) else {
                    throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
                }
            }
        }
        throw .busy
    }

    public func refundFailed(paymentId: String, reversedAmount: Int, owed: Bool, at now: Date) async throws(StorageError) -> PaymentRecord {
        for _ in 0..<5 {
            guard let current = try await payment(id: paymentId) else { throw .notFound }
            let refunded = max(0, current.refundedAmount - max(0, reversedAmount))
            let due = owed ? current.amount - refunded : current.refundDue
            let update = DDBRequest(
                TableName: tables.payments, Key: ["PaymentID": .s(paymentId)],
                ConditionExpression:
                    "RefundedAmount = :was AND RefundDue = :wasDue AND (attribute_not_exists(RefundFailures) OR RefundFailures = :failures)",
                UpdateExpression: "SET RefundedAmount = :refunded, RefundDue = :due, RefundFailures = :next, UpdatedAt = :now"
                    + (due > 0 ? ", DueFlag = :flag" : " REMOVE DueFlag"),
                ExpressionAttributeValues: [
                    ":was": .int(current.refundedAmount), ":wasDue": .int(current.refundDue), ":failures": .int(current.refundFailures),
                    ":refunded": .int(refunded), ":due": .int(due), ":next": .int(current.refundFailures + 1), ":now": .int64(now.ms),
                ].merging(due > 0 ? [":flag": .s(Self.dueFlag)] : [:]) { a, _ in a })
            // Conditioned on what was read: a concurrent change makes it read again.
            if try await conditional("UpdateItem", update) != nil, let updated = try await payment(id: paymentId) { return updated }
        }
        throw .busy
    }

    public func deferRefund(paymentId: String, at now: Date) async throws(StorageError) {
        _ = try await conditional(
            "UpdateItem",
            DDBRequest(
                TableName: tables.payments, Key: ["PaymentID": .s(paymentId)], ConditionExpression: "RefundDue > :zero",
                UpdateExpression: "SET UpdatedAt = :now", ExpressionAttributeValues: [":zero": .int(0), ":now": .int64(now.ms)]))
    }

    public func paymentsWithRefundDue(limit: Int) async throws(StorageError) -> [PaymentRecord] {
        // The index is eventually consistent: read more than asked and keep what the table says is due.
        let keys = try await query(
            table: tables.payments, index: DynamoDBSchema.paymentsRefundDue, keyCondition: "DueFlag = :d", names: [:],
            values: [":d": .s(Self.dueFlag)], forward: true, start: nil, want: limit * 4)
        var found: [PaymentRecord] = []
        for key in keys where found.count < limit {
            guard let id = key["PaymentID"]?.string, let payment = try await payment(id: id), payment.refundDue > 0 else { continue }
            found.append(payment)
        }
        return found
    }

    public func eventProcessed(id: String) async throws(StorageError) -> Bool {
        try await get(tables.paymentEvents, ["EventID": .s(id)]) != nil
    }

    public func markEventProcessed(id: String, at now: Date, keepUntil: Date) async throws(StorageError) -> Bool {
        let put = DDBRequest(
            TableName: tables.paymentEvents,
            Item: ["EventID": .s(id), "ProcessedAt": .int64(now.ms), "TTL": .int64(keepUntil.ms / 1000)],
            ConditionExpression: "attribute_not_exists(EventID)")
        return try await write(.init(Put: put))
    }
}
