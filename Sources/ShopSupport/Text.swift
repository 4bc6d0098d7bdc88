#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// Small text routines that full Foundation has and FoundationEssentials does not. The Lambda
// functions link FoundationEssentials only (no ICU), so every module they use goes through these.

extension StringProtocol {
    /// The text without leading and trailing whitespace or newlines.
    public func trimmingWhitespace() -> String {
        trimming { $0.isWhitespace }
    }

    /// The text without leading and trailing characters that match `predicate`.
    public func trimming(_ predicate: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !predicate($0) }) else { return "" }
        let last = lastIndex(where: { !predicate($0) })!
        return String(self[first...last])
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal, two digits per byte.
    public var hexEncoded: String {
        var out: [UInt8] = []
        for byte in self {
            out.append(HexDigits.lower[Int(byte >> 4)])
            out.append(HexDigits.lower[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Hexadecimal digits as ASCII bytes, for code that writes hex itself.
public enum HexDigits {
    public static let lower = Array("0123456789abcdef".utf8)
    static let upper = Array("0123456789ABCDEF".utf8)

    static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Data {
    /// Base64url without padding (RFC 4648 section 5, as JWTs use it: RFC 7515 appendix C).
    public func base64URLEncoded() -> String {
        var text = Array(base64EncodedString().utf8)
        while text.last == UInt8(ascii: "=") { text.removeLast() }
        for i in text.indices {
            if text[i] == UInt8(ascii: "+") {
                text[i] = UInt8(ascii: "-")
            } else if text[i] == UInt8(ascii: "/") {
                text[i] = UInt8(ascii: "_")
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Decodes unpadded base64url; nil for any character outside its alphabet, `=` included.
    public init?(base64URLEncoded string: String) {
        var text: [UInt8] = []
        text.reserveCapacity(string.utf8.count + 3)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "-"): text.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): text.append(UInt8(ascii: "/"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                text.append(byte)
            default: return nil
            }
        }
        while text.count % 4 != 0 { text.append(UInt8(ascii: "=")) }
        self.init(base64Encoded: Data(text))
    }
}

/// RFC 3986 percent-encoding over UTF-8 bytes, with uppercase hex.
public enum PercentEncoding {
    /// Encodes every byte except the unreserved characters (`A-Z a-z 0-9 - . _ ~`) and `keeping`.
    public static func encode(_ string: String, keeping extra: Set<UInt8> = []) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            if isUnreserved(byte) || extra.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(HexDigits.upper[Int(byte >> 4)])
                out.append(HexDigits.upper[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes (a malformed escape stays as it is); `+` becomes a space only if asked.
    public static func decode(_ string: String, plusAsSpace: Bool = false) -> String {
        let bytes = Array(string.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = HexDigits.value(bytes[i + 1]),
                let lo = HexDigits.value(bytes[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}

/// JSON string literals written by hand, escaped as Foundation's `JSONEncoder` escapes them (quotes, backslashes
/// and control characters; `/` and non-ASCII left as they are): for the hot paths that skip `JSONEncoder`.
public enum JSONEscaping {
    /// Appends `text` as a JSON string. Runs of bytes that need no escape (nearly all of them) are copied whole.
    public static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var plainFrom = 0
            var index = 0
            while index < utf8.count {
                // Eight bytes at a time while none of them needs an escape.
                if index + 8 <= utf8.count, let base = utf8.baseAddress,
                    !needsEscape(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                {
                    index += 8
                    continue
                }
                let byte = utf8[index]
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                    if plainFrom < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainFrom..<index])) }
                    appendEscaped(byte, to: &bytes)
                    plainFrom = index + 1
                }
                index += 1
            }
            if plainFrom < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainFrom...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether any of the eight bytes of `word` is a control character, a quote or a backslash (the "has a byte
    /// less than" and "has a zero byte" tests of Bit Twiddling Hacks, exact as a yes or no).
    public static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        let control = (word &- ones &* 0x20) & ~word & highs != 0
        return control || hasZero(word ^ (ones &* UInt64(UInt8(ascii: "\""))))
            || hasZero(word ^ (ones &* UInt64(UInt8(ascii: "\\"))))
    }

    private static func appendEscaped(_ byte: UInt8, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            bytes.append(UInt8(ascii: "u"))
            bytes.append(UInt8(ascii: "0"))
            bytes.append(UInt8(ascii: "0"))
            bytes.append(HexDigits.lower[Int(byte >> 4)])
            bytes.append(HexDigits.lower[Int(byte & 0x0F)])
        }
    }
}
