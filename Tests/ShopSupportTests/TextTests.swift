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
