import Foundation
import Payments
import ShopDomain
import Testing

@Suite("Test cards")
struct TestCardsTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11

    @Test(arguments: [
        ("4242 4242 4242 4242", CardOutcome.succeeds),
        ("4000000000000002", .declined(declineCode: "generic_decline", message: "Your card was declined.")),
        ("4000-0000-0000-9995", .declined(declineCode: "insufficient_funds", message: "Your card has insufficient funds.")),
        ("4000002500003155", .requiresAction),
    ])
    func stripesTestCardsDecide(_ number: String, _ outcome: CardOutcome) {
        #expect(TestCards.outcome(of: number) == outcome)
    }

    @Test func otherValidNumbersAreDeclinedAsLiveCards() {
        guard case .declined(let code, _) = TestCards.outcome(of: "5555555555554444") else {
            Issue.record("not declined")
            return
        }
        #expect(code == "test_mode_live_card")
    }

    @Test func luhn() {
        #expect(TestCards.luhn("4242424242424242"))
        #expect(!TestCards.luhn("4242424242424241"))
        #expect(!TestCards.luhn(""))
    }

    @Test func problemsNameTheField() {
        func fields(_ card: CardDetails) -> [String] { TestCards.problems(card, now: Self.now).map(\.field) }
        #expect(fields(CardDetails(number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123")).isEmpty)
        #expect(fields(CardDetails(number: "4242424242424241", expMonth: 12, expYear: 2030, cvc: "123")) == ["card.number"])
        #expect(fields(CardDetails(number: "4242abcd42424242", expMonth: 12, expYear: 2030, cvc: "123")) == ["card.number"])
        #expect(
            fields(CardDetails(number: "4242424242424242", expMonth: 10, expYear: 2026, cvc: "123")) == ["card.expYear"],
            "expired last month")
        #expect(fields(CardDetails(number: "4242424242424242", expMonth: 11, expYear: 2026, cvc: "123")).isEmpty, "valid through its month")
        #expect(fields(CardDetails(number: "4242424242424242", expMonth: 13, expYear: 2030, cvc: "123")) == ["card.expMonth"])
        #expect(fields(CardDetails(number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "12")) == ["card.cvc"])
    }
}
