#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One priced line of a quote: `lineTotal` = `unitPrice` × `quantity`, and the tax on it (added to the line when
/// prices exclude tax; the part of `lineTotal` that is tax when they include it). The line an order keeps.
public typealias QuoteLine = OrderLine

/// A shipping method offered for a quote, at its effective price for the quote's subtotal (0 when the subtotal
/// reaches its `freeOver`): the same shape an order keeps of the method it was placed with.
public typealias ShippingOption = OrderShippingMethod

/// Why a quote could not be made.
public enum QuoteError: Error, Sendable, Equatable {
    /// No shipping zone covers the address's country (and there is no `"*"` zone).
    case shippingUnavailable(country: String)
    /// The chosen method is not one of the address's zone.
    case unknownMethod(String)
}

/// What an order costs, shipped to an address under the store's settings. All amounts are integers in minor
/// units of `currency`.
///
/// The money rules:
/// - `subtotal` = Σ `lineTotal`; `shippingTotal` = the chosen method's effective price.
/// - `rate` = the address's tax rate (`StoreSettings.taxRate(country:region:)`) in thousandths of a percent,
///   0 when there is none. `r(x)` rounds half away from zero to a whole minor unit, each amount separately.
/// - Prices without tax: a line's `tax` = r(lineTotal × rate / 100000); `shippingTax` = r(shippingTotal × rate /
///   100000) when the rate applies to shipping, else 0; `taxTotal` = Σ line tax + shippingTax;
///   `total` = subtotal + shippingTotal + taxTotal.
/// - Prices with tax: a line's `tax` = lineTotal − r(lineTotal × 100000 / (100000 + rate)); `shippingTax` likewise
///   from shippingTotal when the rate applies to shipping, else 0; `taxTotal` = that included tax;
///   `total` = subtotal + shippingTotal.
/// Everything is computed in integers; no floating point.
public struct Quote: Sendable, Codable, Equatable, Hashable {
    public var currency: String
    public var lines: [QuoteLine]
    public var subtotal: Int
    /// Every method of the address's zone, each at its effective price for `subtotal`.
    public var shippingMethods: [ShippingOption]
    public var shippingMethodId: String
    public var shippingTotal: Int
    public var shippingTax: Int
    public var taxTotal: Int
    public var total: Int

    public init(
        currency: String, lines: [QuoteLine], subtotal: Int, shippingMethods: [ShippingOption],
        shippingMethodId: String, shippingTotal: Int, shippingTax: Int, taxTotal: Int, total: Int
    ) {
        self.currency = currency
        self.lines = lines
        self.subtotal = subtotal
        self.shippingMethods = shippingMethods
        self.shippingMethodId = shippingMethodId
        self.shippingTotal = shippingTotal
        self.shippingTax = shippingTax
        self.taxTotal = taxTotal
        self.total = total
    }

    /// Prices `lines` shipped to `address` under `settings` (see the type's documentation for the rules).
    ///
    /// Without `methodId` the method with the lowest effective price is chosen; on a tie, the first in the
    /// zone's list. Inputs are expected to be validated (prices, quantities, address, settings): with the
    /// contract's limits every amount stays far from `Int` overflow, and arithmetic traps rather than wraps.
    public static func make(
        lines: [(productId: String, name: String, unitPrice: Int, quantity: Int)],
        address: Address, methodId: String?, settings: StoreSettings
    ) throws(QuoteError) -> Quote {
        try make(
            lines: lines.map { OrderLine(productId: $0.productId, name: $0.name, unitPrice: $0.unitPrice, quantity: $0.quantity) },
            address: address, methodId: methodId, settings: settings)
    }

    /// Prices `lines` (their variant, name, unit price and quantity; `tax` is set here).
    public static func make(lines: [OrderLine], address: Address, methodId: String?, settings: StoreSettings) throws(QuoteError) -> Quote {
        guard let zone = settings.zone(for: address.country), !zone.methods.isEmpty else {
            throw .shippingUnavailable(country: address.country)
        }

        let subtotal = lines.reduce(0) { $0 + $1.unitPrice * $1.quantity }
        let options = zone.methods.map {
            ShippingOption(
                id: $0.id, name: $0.name, price: $0.effectivePrice(forSubtotal: subtotal), minDays: $0.minDays, maxDays: $0.maxDays)
        }
        let chosen: ShippingOption
        if let methodId {
            guard let option = options.first(where: { $0.id == methodId }) else { throw .unknownMethod(methodId) }
            chosen = option
        } else {
            // `min(by:)` keeps the first of equal elements, so a tie goes to the earlier method.
            chosen = options.min { $0.price < $1.price }!
        }

        let taxRate = settings.taxRate(country: address.country, region: address.region)
        let rate = taxRate?.rate ?? 0
        let includesTax = settings.pricesIncludeTax
        func tax(of amount: Int) -> Int {
            includesTax ? includedTax(in: amount, rate: rate) : addedTax(on: amount, rate: rate)
        }

        let quoteLines = lines.map { line in
            var priced = line
            priced.lineTotal = line.unitPrice * line.quantity
            priced.tax = tax(of: priced.lineTotal)
            return priced
        }
        let shippingTotal = chosen.price
        let shippingTax = taxRate?.appliesToShipping == true ? tax(of: shippingTotal) : 0
        let taxTotal = quoteLines.reduce(0) { $0 + $1.tax } + shippingTax
        let total = subtotal + shippingTotal + (includesTax ? 0 : taxTotal)

        return Quote(
            currency: settings.currency, lines: quoteLines, subtotal: subtotal, shippingMethods: options,
            shippingMethodId: chosen.id, shippingTotal: shippingTotal, shippingTax: shippingTax,
            taxTotal: taxTotal, total: total)
    }

    /// The denominator of tax rates: 100000 thousandths of a percent are 100 %.
    public static let rateScale = 100_000

    /// Tax added on top of `amount`: r(amount × rate / 100000).
    public static func addedTax(on amount: Int, rate: Int) -> Int {
        roundedMultiplyDivide(amount, rate, rateScale)
    }

    /// Tax included in `amount`: amount − r(amount × 100000 / (100000 + rate)).
    public static func includedTax(in amount: Int, rate: Int) -> Int {
        amount - roundedMultiplyDivide(amount, rateScale, rateScale + rate)
    }

    /// `numerator / denominator` rounded half away from zero, exactly (integer quotient and remainder).
    ///
    /// The remainder's magnitude is below the denominator's, so doubling it in `UInt` cannot overflow.
    /// Precondition: `denominator != 0`, and not `Int.min / -1` (as for `/`).
    public static func roundedDivision(_ numerator: Int, _ denominator: Int) -> Int {
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        return roundedAwayFromZero(quotient, remainder, denominator, negative: (numerator < 0) != (denominator < 0))
    }

    /// `a × b / denominator` rounded half away from zero, exactly, with a 128-bit intermediate product.
    ///
    /// Amounts reach about 10^11 (a line of 1000 × 100 000 000) and multipliers 2 × 10^5, so products stay
    /// below 10^17 and would fit in `Int` (about 9.2 × 10^18) already; the full-width product
    /// (`multipliedFullWidth`, `dividingFullWidth`) removes even that assumption: only a quotient that
    /// does not fit in `Int` traps.
    public static func roundedMultiplyDivide(_ a: Int, _ b: Int, _ denominator: Int) -> Int {
        let product = a.multipliedFullWidth(by: b)
        let (quotient, remainder) = denominator.dividingFullWidth(product)
        return roundedAwayFromZero(quotient, remainder, denominator, negative: ((a < 0) != (b < 0)) != (denominator < 0))
    }

    /// Rounds a truncated division (`quotient`, `remainder` of the exact `x / denominator`) half away from zero.
    /// `negative` is the sign of the exact result, which matters only when `remainder != 0` (then x != 0).
    private static func roundedAwayFromZero(_ quotient: Int, _ remainder: Int, _ denominator: Int, negative: Bool) -> Int {
        guard remainder != 0, remainder.magnitude * 2 >= denominator.magnitude else { return quotient }
        return negative ? quotient - 1 : quotient + 1
    }
}
