import Crypto
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One email to one shopper: what every sender takes. `rfc5322()` is the message exactly as it goes on the wire
/// (SMTP's DATA, SES's raw content, the `.eml` file).
public struct MailMessage: Sendable, Equatable {
    /// `SHOP_MAIL_FROM`: `shop@example.com` or `Shop <shop@example.com>`.
    public var from: String
    /// One address.
    public var to: String
    public var subject: String
    /// The text/plain part.
    public var text: String
    /// The text/html part.
    public var html: String
    /// Without angle brackets (`<hex>@serverlessshop`); the same on every attempt to send the same email.
    public var messageId: String
    public var date: Date

    public init(from: String, to: String, subject: String, text: String, html: String, messageId: String, date: Date) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageId = messageId
        self.date = date
    }

    /// A Message-ID for the email `template` of event `eventId`: the first 32 hex digits of
    /// SHA-256("<eventId>\n<template>"), `@`, `domain`. The same inputs give the same id on every attempt.
    public static func messageId(eventId: String, template: String, domain: String) -> String {
        let digest = SHA256.hash(data: Array("\(eventId)\n\(template)".utf8))
        return String(Array(digest).hexEncoded.prefix(32)) + "@" + domain
    }

    /// The message as RFC 5322 bytes: Date, From, To, Subject (RFC 2047 encoded words when not plain ASCII),
    /// Message-ID, MIME-Version and a multipart/alternative body (text, then HTML), each part UTF-8 in
    /// quoted-printable. CRLF line ends, no line over 76 octets but the address headers (never over 998).
    ///
    /// Control characters (CR and LF among them) in the header fields become spaces: no field can start a header.
    /// The boundary starts with `=_`, which quoted-printable never produces, so it cannot occur in a part.
    public func rfc5322() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + html.utf8.count * 11 / 10 + 1024)
        func line(_ text: String) {
            out += Array(text.utf8)
            out += crlf
        }
        let boundary = "=_shop_" + String(Array(SHA256.hash(data: Array(messageId.utf8))).hexEncoded.prefix(16))
        line("Date: " + Self.rfc5322Date(date))
        line("From: " + MailHeader.mailbox(from))
        line("To: " + MailHeader.mailbox(to))
        out += Array("Subject: ".utf8)
        out += Array(MailHeader.unstructured(subject, nameLength: "Subject: ".utf8.count).utf8)
        out += crlf
        line("Message-ID: <" + MailHeader.singleLine(messageId).replacingAll(" ", with: "") + ">")
        line("MIME-Version: 1.0")
        line("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        line("")
        line("This is a multi-part message in MIME format.")
        for (type, body) in [("text/plain", text), ("text/html", html)] {
            line("--" + boundary)
            line("Content-Type: \(type); charset=utf-8")
            line("Content-Transfer-Encoding: quoted-printable")
            line("")
            out += QuotedPrintable.encode(body)
            out += crlf
        }
        line("--" + boundary + "--")
        return out
    }

    /// `Sun, 06 Dec 2026 21:49:57 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let millis = date.unixMillis
        let time = CivilTime(unixMillis: millis)
        let days = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Int(time.month - 1)]
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(weekday), \(two(time.day)) \(month) \(time.year) \(two(time.hour)):\(two(time.minute)):\(two(time.second)) +0000"
    }

    /// The bare address of a mailbox (`Shop <shop@example.com>` → `shop@example.com`), for SMTP's envelope and
    /// SES; nil when it is not one plausible address (empty, spaces, control characters, angle brackets left).
    public static func address(of mailbox: String) -> String? {
        var text = mailbox.trimmingWhitespace()
        if text.hasSuffix(">"), let open = text.lastIndex(of: "<") {
            text = String(text[text.index(after: open)..<text.index(before: text.endIndex)]).trimmingWhitespace()
        }
        guard !text.isEmpty, text.utf8.count <= 254,
            text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f && !"<>()[],;:\\\"".unicodeScalars.contains($0) }),
            let at = text.lastIndex(of: "@"), at != text.startIndex, text.index(after: at) != text.endIndex
        else { return nil }
        return text
    }
}

let crlf: [UInt8] = [13, 10]

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}

/// Header fields: one line each, non-ASCII as RFC 2047 encoded words.
enum MailHeader {
    /// Control characters (CR, LF, tab and the rest) as spaces, trimmed: a value that can never end its header.
    static func singleLine(_ value: String) -> String {
        String(
            String.UnicodeScalarView(
                value.unicodeScalars.map {
                    $0.value < 0x20 || $0.value == 0x7f || (0x80..<0xa0).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}"
                        ? " " : $0
                })
        )
        .trimmingWhitespace()
    }

    static func isPlainASCII(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
    }

    /// An unstructured field's value (Subject): as it is when plain ASCII and short, else encoded words
    /// (`=?UTF-8?B?…?=`, at most 75 octets each, never splitting a character), folded with CRLF + space.
    static func unstructured(_ raw: String, nameLength: Int) -> String {
        let value = singleLine(raw)
        if isPlainASCII(value), !value.contains("=?"), value.utf8.count + nameLength <= 78 { return value }
        return encodedWords(value).joined(separator: "\r\n ")
    }

    /// `=?UTF-8?B?…?=` words of at most 68 octets (42 bytes of UTF-8, 56 of base64), cut between characters, so that
    /// `Subject: ` and the first word fit in 78.
    static func encodedWords(_ value: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in value {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 42, !chunk.isEmpty {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    /// A mailbox (`addr`, or `Display Name <addr>`): the display name as it is when it is plain words, quoted when it
    /// has specials (`Shop, Inc.`), encoded words when it is not ASCII.
    static func mailbox(_ raw: String) -> String {
        let value = singleLine(raw)
        guard value.hasSuffix(">"), let open = value.lastIndex(of: "<") else { return value }
        let address = value[open...]
        var name = String(value[..<open]).trimmingWhitespace()
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
            // A quoted display name: its text, escapes undone (they are written again below).
            var text = ""
            var escaped = false
            for c in name.dropFirst().dropLast() {
                if !escaped && c == "\\" {
                    escaped = true
                    continue
                }
                escaped = false
                text.append(c)
            }
            name = text
        }
        if name.isEmpty { return String(address) }
        if isPlainASCII(name), !name.contains("=?") {
            // Words of letters, digits and spaces go as they are; anything with RFC 5322's specials is quoted.
            if name.unicodeScalars.allSatisfy({
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || " !#$%&'*+-/=?^_`{|}~".unicodeScalars.contains($0)
            }) {
                return name + " " + address
            }
            var quoted = "\""
            for c in name {
                if c == "\"" || c == "\\" { quoted.append("\\") }
                quoted.append(c)
            }
            return quoted + "\" " + address
        }
        return encodedWords(name).joined(separator: " ") + " " + address
    }
}

/// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: every line break becomes CRLF, lines are at most 76 octets
/// (soft breaks `=`), `=`, bytes outside printable ASCII and a space or tab before a line end are `=XX`.
enum QuotedPrintable {
    static func encode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var lineLength = 0
        var i = 0
        func hex(_ byte: UInt8) -> [UInt8] { [UInt8(ascii: "="), upperHex[Int(byte >> 4)], upperHex[Int(byte & 15)]] }
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 13 || byte == 10 {
                out += crlf
                lineLength = 0
                i += (byte == 13 && i + 1 < bytes.count && bytes[i + 1] == 10) ? 2 : 1
                continue
            }
            let atLineEnd = i + 1 == bytes.count || bytes[i + 1] == 13 || bytes[i + 1] == 10
            let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !atLineEnd)
            let encoded = literal ? [byte] : hex(byte)
            // Room for a soft break's `=` unless this is the last thing on the line.
            let limit = atLineEnd ? 76 : 75
            if lineLength + encoded.count > limit {
                out += [UInt8(ascii: "=")] + crlf
                lineLength = 0
            }
            out += encoded
            lineLength += encoded.count
            i += 1
        }
        return out
    }

    /// The decoded bytes (for tests and for reading `.eml` files back).
    static func decode(_ encoded: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        func value(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        while i < encoded.count {
            let b = encoded[i]
            if b == UInt8(ascii: "=") {
                if i + 2 < encoded.count, encoded[i + 1] == 13, encoded[i + 2] == 10 {
                    i += 3
                    continue
                }
                if i + 1 < encoded.count, encoded[i + 1] == 10 {
                    i += 2
                    continue
                }
                if i + 2 < encoded.count, let h = value(encoded[i + 1]), let l = value(encoded[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                    continue
                }
            }
            out.append(b)
            i += 1
        }
        return out
    }
}

private let upperHex = Array("0123456789ABCDEF".utf8)
