import ShopDomain
import Testing

/// The whole table: every order state against every payment event, with and without a matching amount,
/// and whether the order was paid by this payment.
@Suite("Payment lifecycle")
struct PaymentLifecycleTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var event: PaymentEventKind
        var status: OrderStatus
        var paidByThis: Bool
        var matches: Bool
        var expected: PaymentDecision
        var testDescription: String { "\(event) on \(status.rawValue) paidByThis=\(paidByThis) matches=\(matches)" }
    }

    static let table: [Row] = {
        var rows: [Row] = []
        for status in OrderStatus.allCases {
            for paidByThis in [false, true] {
                for matches in [true, false] {
                    let succeeded: PaymentDecision
                    if paidByThis {
                        succeeded = .nothing  // a replay of the success that paid it
                    } else if !matches {
                        succeeded = .refund(.amountMismatch)
                    } else {
                        switch status {
                        case .pendingPayment: succeeded = .markPaid
                        case .cancelled: succeeded = .refund(.orderCancelled)
                        case .paid, .fulfilled: succeeded = .refund(.paidTwice)
                        }
                    }
                    rows.append(Row(event: .succeeded, status: status, paidByThis: paidByThis, matches: matches, expected: succeeded))
                    for other in [PaymentEventKind.failed, .canceled, .refunded] {
                        rows.append(Row(event: other, status: status, paidByThis: paidByThis, matches: matches, expected: .recordOnly))
                    }
                }
            }
        }
        return rows
    }()

    @Test(arguments: table)
    func decision(_ row: Row) {
        #expect(
            PaymentLifecycle.decide(row.event, orderStatus: row.status, paidByThisPayment: row.paidByThis, amountMatches: row.matches)
                == row.expected)
    }

    @Test func theTableCoversEveryStateAndEvent() {
        #expect(Self.table.count == OrderStatus.allCases.count * PaymentEventKind.allCases.count * 4)
        // Only a success on a pending order with the right amount ever moves the order.
        #expect(Self.table.filter { $0.expected == .markPaid }.map { "\($0.status)" } == ["pendingPayment"])
    }

    @Test func statusesAreStripes() {
        #expect(
            PaymentStatus.allCases.map(\.rawValue) == [
                "requires_payment_method", "requires_confirmation", "requires_action", "processing", "succeeded", "canceled",
            ])
        #expect(PaymentStatus.allCases.filter(\.isOpen).count == 4)
    }
}
