/// Amounts in minor units as a shopper reads them, the way the website's `money()` (web/js/format.js, `Intl.NumberFormat`
/// in English) shows them: `$1,234.56`, `€5.00`, `£5.00`, `¥500`, `CHF 10.00`, `KWD 1.500`, `-$5.00`.
public enum Money {
    /// ISO 4217 minor-unit digits: 0 for JPY, KRW and the like, 3 for BHD, KWD, …, 4 for CLF and UYW, else 2.
    public static func digits(_ currency: String) -> Int {
        switch currency.uppercased() {
        case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF": 0
        case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND": 3
        case "CLF", "UYW": 4
        default: 2
        }
    }

    /// The symbols English `Intl.NumberFormat` prints; other currencies are written as their code and a space.
    static let symbols: [String: String] = [
        "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "INR": "₹", "KRW": "₩",
        "CNY": "CN¥", "HKD": "HK$", "ILS": "₪", "MXN": "MX$", "BRL": "R$", "TWD": "NT$", "VND": "₫", "PHP": "₱",
    ]

    public static func format(_ minor: Int, currency: String) -> String {
        let code = currency.uppercased()
        let digits = digits(code)
        let magnitude = minor.magnitude
        var scale: UInt = 1
        for _ in 0..<digits { scale *= 10 }
        let whole = String(magnitude / scale)
        var grouped = ""
        for (i, c) in whole.enumerated() {
            if i > 0, (whole.count - i) % 3 == 0 { grouped.append(",") }
            grouped.append(c)
        }
        var number = grouped
        if digits > 0 {
            let fraction = String(magnitude % scale)
            number += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        let sign = minor < 0 ? "-" : ""
        if let symbol = symbols[code] { return sign + symbol + number }
        return sign + code + " " + number
    }
}
