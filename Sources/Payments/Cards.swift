import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A card as the simulator's confirm step receives it. Never stored or logged.
public struct CardDetails: Sendable, Decodable {
    public var number: String
    public var expMonth: Int
    public var expYear: Int
    public var cvc: String

    public init(number: String, expMonth: Int, expYear: Int, cvc: String) {
        self.number = number
        self.expMonth = expMonth
        self.expYear = expYear
        self.cvc = cvc
    }
}

/// What confirming with a card does, by Stripe's test cards.
public enum CardOutcome: Sendable, Equatable {
    case succeeds
    /// `card_declined` with this decline code.
    case declined(declineCode: String, message: String)
    /// 3-D Secure: the shopper must authenticate first.
    case requiresAction
}

/// Stripe's test cards, and the checks a card form makes before it is sent.
public enum TestCards {
    /// 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined (`generic_decline`);
    /// 4000 0000 0000 9995 is declined (`insufficient_funds`); 4000 0025 0000 3155 needs 3-D Secure.
    /// Any other valid number is declined as a live card used in test mode, as Stripe does.
    public static func outcome(of number: String) -> CardOutcome {
        switch digits(number) {
        case "4242424242424242": .succeeds
        case "4000000000000002": .declined(declineCode: "generic_decline", message: "Your card was declined.")
        case "4000000000009995": .declined(declineCode: "insufficient_funds", message: "Your card has insufficient funds.")
        case "4000002500003155": .requiresAction
        default: .declined(declineCode: "test_mode_live_card", message: "Your card was declined: use one of the test cards.")
        }
    }

    /// The problems with a card, naming the field (`card.number`, `card.expMonth`, `card.expYear`, `card.cvc`).
    public static func problems(_ card: CardDetails, now: Date) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        let number = digits(card.number)
        if number.count != card.number.filter({ $0 != " " && $0 != "-" }).count || !(12...19).contains(number.count) || !luhn(number) {
            problems.append(FieldProblem(field: "card.number", problem: "is not a valid card number"))
        }
        let today = CivilDate(now)
        if !(1...12).contains(card.expMonth) {
            problems.append(FieldProblem(field: "card.expMonth", problem: "must be 1 to 12"))
        } else if card.expYear < today.year || (card.expYear == today.year && card.expMonth < today.month) {
            problems.append(FieldProblem(field: "card.expYear", problem: "the card has expired"))
        } else if card.expYear > today.year + 50 {
            problems.append(FieldProblem(field: "card.expYear", problem: "is too far in the future"))
        }
        if !(3...4).contains(card.cvc.count) || !card.cvc.allSatisfy(\.isASCIIDigit) {
            problems.append(FieldProblem(field: "card.cvc", problem: "must be 3 or 4 digits"))
        }
        return problems
    }

    static func digits(_ number: String) -> String { String(number.filter(\.isASCIIDigit)) }

    /// The Luhn checksum every card number carries.
    public static func luhn(_ digits: String) -> Bool {
        var sum = 0
        for (index, character) in digits.reversed().enumerated() {
            guard let digit = character.wholeNumberValue else { return false }
            if index % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return !digits.isEmpty && sum % 10 == 0
    }
}

/// Year and month of a date in UTC.
struct CivilDate {
    var year: Int
    var month: Int
    init(_ date: Date) {
        let time = ShopSupport.CivilTime(date)
        year = Int(time.year)
        month = Int(time.month)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
