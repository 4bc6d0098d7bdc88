import Foundation
import ShopDomain
import Testing

@testable import ShopMail

/// A message as a mail program shows it, read by a parser that is not ours: Python's `email` package (the system's
/// python3, modern policy), which decodes encoded words and quoted-printable and reports what it found malformed.
struct RecipientView: Decodable {
    var headerNames: [String]
    var subject: String
    var from: String
    var to: String
    var messageId: String
    var date: String
    var contentType: String
    var parts: [Part]
    var defects: [String]
    /// The longest line of the raw message, in octets, CRLF excluded.
    var longestLine: Int
    /// Whether every line ends with CRLF (no bare LF or CR anywhere).
    var crlfOnly: Bool

    struct Part: Decodable {
        var contentType: String
        var charset: String?
        var transferEncoding: String
        var content: String
    }

    var text: String { parts.first { $0.contentType == "text/plain" }?.content ?? "" }
    var html: String { parts.first { $0.contentType == "text/html" }?.content ?? "" }

    static let script = #"""
        import email, email.policy, json, sys
        raw = sys.stdin.buffer.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            parts.append({"contentType": part.get_content_type(), "charset": part.get_content_charset(),
                          "transferEncoding": str(part.get("Content-Transfer-Encoding", "")), "content": part.get_content().replace("\r\n", "\n")})
        defects = [type(d).__name__ for d in msg.defects]
        for part in msg.walk():
            defects += [type(d).__name__ for d in part.defects if part is not msg]
        lines = raw.split(b"\r\n")
        print(json.dumps({
            "headerNames": list(msg.keys()), "subject": str(msg["Subject"]), "from": str(msg["From"]), "to": str(msg["To"]),
            "messageId": str(msg["Message-ID"]), "date": str(msg["Date"]), "contentType": msg.get_content_type(),
            "parts": parts, "defects": defects, "longestLine": max(len(l) for l in lines),
            "crlfOnly": b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b""),
        }))
        """#

    static func parse(_ bytes: [UInt8]) throws -> RecipientView {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ParseFailed(description: "python3's email parser failed: \(String(decoding: err, as: UTF8.self))")
        }
        return try JSONDecoder().decode(RecipientView.self, from: out)
    }

    struct ParseFailed: Error, CustomStringConvertible { var description: String }
}

/// Orders for the tests: a paid one with shipping and tax, in `currency`.
enum Fixtures {
    static let date = Date(timeIntervalSince1970: 1_796_593_797)  // 2026-12-06T21:49:57Z, a Sunday

    static func order(
        id: String = "0193a4b2-7c1d-7e3f-9a2b-1a2b3c4d5e6f", lines: [OrderLine]? = nil, currency: String = "USD",
        shipment: Shipment? = nil, address: Address? = nil
    ) -> Order {
        let lines =
            lines ?? [
                OrderLine(productId: "p1", name: "Blue Mug", unitPrice: 1234, quantity: 2, tax: 0),
                OrderLine(productId: "p2", name: "Tea Towel", unitPrice: 500, quantity: 1, tax: 0),
            ]
        let subtotal = lines.reduce(0) { $0 + $1.lineTotal }
        return Order(
            id: id, userId: "u1", lines: lines, total: subtotal + 799 + 250, currency: currency, status: .paid, createdAt: date,
            updatedAt: date,
            expiresAt: date,
            shippingAddress: address
                ?? Address(
                    name: "Ada Lovelace", line1: "1 Analytical Way", line2: "Flat 2", city: "London", region: nil, postalCode: "N1 9GU",
                    country: "GB", phone: "+44 20 7946 0000"),
            shippingMethod: OrderShippingMethod(id: "std", name: "Standard", price: 799, minDays: 3, maxDays: 5), subtotal: subtotal,
            shippingTotal: 799, shippingTax: 50, taxTotal: 250, shipment: shipment)
    }

    static func message(
        subject: String = "Order 3c4d5e6f confirmed", text: String = "Hello\n", html: String = "<p>Hello</p>\n",
        to: String = "shopper@example.org",
        messageId: String = "0123456789abcdef@serverlessshop", from: String = "Shop <shop@example.com>"
    ) -> MailMessage {
        MailMessage(from: from, to: to, subject: subject, text: text, html: html, messageId: messageId, date: date)
    }
}

/// A unique token for one test's messages (its recipient's local part, its Message-ID).
func uniqueToken(_ label: String) -> String {
    "\(label)-\(UInt64.random(in: 0...UInt64.max))"
}
