import Foundation
import ShopSupport
import Testing

/// The text routines stand in for full Foundation's in the Lambda functions; here they are held
/// to what full Foundation (and RFC 4648 / RFC 3986) say for the same inputs.
@Suite struct TextTests {
    @Test(arguments: ["  a b  ", "\t\nx\r\n", "", "   ", "no-space", " \u{00A0}nbsp\u{2003} "])
    func trimmingMatchesFoundation(_ text: String) {
        #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func trimmingWithAPredicate() {
        #expect(".a.b..".trimming { $0 == "." } == "a.b")
        #expect("....".trimming { $0 == "." } == "")
        #expect("[admin user]"[...].trimming { $0 == "[" || $0 == "]" } == "admin user")
    }

    @Test func hexIsLowercaseTwoDigitsPerByte() {
        #expect([UInt8]([0x00, 0x0f, 0xa0, 0xff]).hexEncoded == "000fa0ff")
        let bytes = (0..<256).map { UInt8($0) }
        #expect(bytes.hexEncoded == bytes.map { String(format: "%02x", $0) }.joined())
    }

    @Test func base64URLRoundTripsAndMatchesTheRFCAlphabet() {
        for count in 0..<70 {
            let data = Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) })
            let encoded = data.base64URLEncoded()
            #expect(!encoded.contains("=") && !encoded.contains("+") && !encoded.contains("/"))
            let expected = data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(encoded == expected)
            #expect(Data(base64URLEncoded: encoded) == data)
        }
        // RFC 7515 appendix C's example.
        #expect(Data([3, 236, 255, 224, 193]).base64URLEncoded() == "A-z_4ME")
    }

    @Test(arguments: ["a+b", "a/b", "a b", "ab=c", "é", "a.b"])
    func base64URLRefusesCharactersOutsideItsAlphabet(_ text: String) {
        #expect(Data(base64URLEncoded: text) == nil)
    }

    @Test func percentEncodingKeepsOnlyUnreservedCharacters() {
        #expect(PercentEncoding.encode("a-z_A.Z~0 9/?&=é") == "a-z_A.Z~0%209%2F%3F%26%3D%C3%A9")
        #expect(PercentEncoding.encode("dir/file name", keeping: [UInt8(ascii: "/")]) == "dir/file%20name")
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let ascii = String((32..<127).map { Character(UnicodeScalar(UInt8($0))) })
        #expect(PercentEncoding.encode(ascii) == ascii.addingPercentEncoding(withAllowedCharacters: allowed))
    }

    @Test func percentDecoding() {
        #expect(PercentEncoding.decode("a%20b%2Fc%C3%A9") == "a b/cé")
        #expect(PercentEncoding.decode("a+b") == "a+b")
        #expect(PercentEncoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(PercentEncoding.decode("100%") == "100%", "a malformed escape stays as it is")
        #expect(PercentEncoding.decode("%zz") == "%zz")
    }
}

/// `JSONEscaping` writes what `JSONEncoder` writes (slashes unescaped), whichever of its eight-byte strides a byte
/// that needs an escape falls in.
@Suite struct JSONEscapingTests {
    func encoded(_ text: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try encoder.encode(text), as: UTF8.self)
    }

    func escaped(_ text: String) -> String {
        var bytes: [UInt8] = []
        JSONEscaping.appendString(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func agreesWithJSONEncoder() throws {
        let specials = ["\"", "\\", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{00}", "\u{1F}", "\u{7F}", "/", "é", "日", "🙂", " ", "!"]
        var generator = SystemRandomNumberGenerator()
        for length in 0..<40 {
            for _ in 0..<25 {
                let text = (0..<length).map { _ in
                    Bool.random(using: &generator) ? "a" : specials.randomElement(using: &generator)!
                }.joined()
                #expect(escaped(text) == (try encoded(text)), "\(Array(text.utf8))")
            }
            // One special in an otherwise plain string, at every position.
            for special in specials {
                let text = String(repeating: "x", count: length) + special + String(repeating: "y", count: 17)
                #expect(escaped(text) == (try encoded(text)))
            }
        }
    }

    @Test func findsEveryByteThatNeedsAnEscapeInAWord() {
        for position in 0..<8 {
            for byte in UInt8(0)...UInt8(255) {
                var word = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                word[position] = byte
                let value = word.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                let expected = byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                #expect(JSONEscaping.needsEscape(value) == expected, "byte \(byte) at \(position)")
            }
        }
    }
}
