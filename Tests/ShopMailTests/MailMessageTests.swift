import Foundation
import Testing

@testable import ShopMail

@Suite("MailMessage: RFC 5322 bytes as a mail program reads them")
struct MailMessageTests {
    @Test func aPlainMessageHasEveryHeaderAndBothParts() throws {
        let message = Fixtures.message(text: "Hello Ada,\nyour order is paid.\n", html: "<p>Hello Ada</p>\n")
        let bytes = message.rfc5322()
        let view = try RecipientView.parse(bytes)
        #expect(view.defects.isEmpty)
        #expect(view.crlfOnly)
        #expect(view.headerNames == ["Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type"])
        #expect(view.date == "Sun, 06 Dec 2026 21:49:57 +0000")
        #expect(view.from == "Shop <shop@example.com>")
        #expect(view.to == "shopper@example.org")
        #expect(view.subject == "Order 3c4d5e6f confirmed")
        #expect(view.messageId == "<0123456789abcdef@serverlessshop>")
        #expect(view.contentType == "multipart/alternative")
        #expect(view.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(view.parts.allSatisfy { $0.charset == "utf-8" && $0.transferEncoding == "quoted-printable" })
        #expect(view.text == "Hello Ada,\nyour order is paid.\n")
        #expect(view.html == "<p>Hello Ada</p>\n")
    }

    @Test func aNonASCIISubjectAndSenderNameAreEncodedWordsThatDecodeBack() throws {
        let subject = "Commande 3c4d5e6f confirmée — merci, Zoë! 🎉 " + String(repeating: "très long ", count: 12)
        let message = Fixtures.message(subject: subject, from: "Boutique Zoë <shop@example.com>")
        let bytes = message.rfc5322()
        let raw = String(decoding: bytes, as: UTF8.self)
        #expect(raw.contains("Subject: =?UTF-8?B?"))
        #expect(bytes.allSatisfy { $0 < 0x80 }, "7-bit on the wire: headers encoded, bodies quoted-printable")
        let view = try RecipientView.parse(bytes)
        #expect(view.defects.isEmpty)
        #expect(view.subject == subject.trimmingCharacters(in: .whitespaces))
        #expect(view.from == "Boutique Zoë <shop@example.com>")
        #expect(view.longestLine <= 78)
    }

    @Test func crAndLFInTheSubjectNeverStartAHeader() throws {
        for subject in [
            "Order 1\r\nBcc: victim@example.net", "Order 1\nX-Injected: yes", "Order 1\rX-Injected: yes", "Zoë\r\nBcc: victim@example.net",
        ] {
            let bytes = Fixtures.message(subject: subject, to: "a@example.org\r\nBcc: victim@example.net").rfc5322()
            let view = try RecipientView.parse(bytes)
            #expect(!view.headerNames.contains("Bcc") && !view.headerNames.contains("X-Injected"), "\(subject)")
            #expect(view.headerNames.count == 7)
            #expect(view.crlfOnly)
            #expect(!view.subject.contains("\n") && !view.subject.contains("\r"))
        }
    }

    @Test func longLinesAreFoldedWithinLimitsAndComeBackWhole() throws {
        let long = String(repeating: "0123456789 ", count: 200) + "end"
        let unicode = String(repeating: "é", count: 400)
        let text = "\(long)\n\(unicode)\n.starts with a dot\ntrailing space \nequals = sign\n"
        let bytes = Fixtures.message(text: text, html: "<p>\(long)</p>").rfc5322()
        let view = try RecipientView.parse(bytes)
        #expect(view.longestLine <= 76)
        #expect(view.text == text)
        #expect(view.html == "<p>\(long)</p>")
    }

    @Test func theBoundaryCannotOccurInAPart() throws {
        // A part that holds the boundary's own text still reads as one part: quoted-printable writes `=` as `=3D`.
        let first = Fixtures.message().rfc5322()
        let raw = String(decoding: first, as: UTF8.self)
        let boundary = try #require(raw.split(separator: "boundary=\"").last?.split(separator: "\"").first).description
        #expect(boundary.hasPrefix("=_"))
        let hostile = "--\(boundary)\nContent-Type: text/html\n\n<script>x</script>\n--\(boundary)--\n"
        let view = try RecipientView.parse(Fixtures.message(text: hostile, html: hostile).rfc5322())
        #expect(view.parts.count == 2)
        #expect(view.text == hostile)
    }

    @Test func theMessageIdIsDerivedFromEventAndTemplate() {
        let a = MailMessage.messageId(eventId: "evt_1", template: "order-confirmation", domain: "serverlessshop")
        #expect(a == MailMessage.messageId(eventId: "evt_1", template: "order-confirmation", domain: "serverlessshop"))
        #expect(a != MailMessage.messageId(eventId: "evt_1", template: "order-shipped", domain: "serverlessshop"))
        #expect(a != MailMessage.messageId(eventId: "evt_2", template: "order-confirmation", domain: "serverlessshop"))
        #expect(a.hasSuffix("@serverlessshop"))
        let local = a.split(separator: "@")[0]
        #expect(local.count == 32 && local.allSatisfy(\.isHexDigit))
    }

    @Test func envelopeAddresses() {
        #expect(MailMessage.address(of: "Shop <shop@example.com>") == "shop@example.com")
        #expect(MailMessage.address(of: " shop@example.com ") == "shop@example.com")
        #expect(MailMessage.address(of: "\"Zoë, Shop\" <zoe@example.com>") == "zoe@example.com")
        #expect(MailMessage.address(of: "a@b>\r\nRCPT TO:<evil@example.net") == nil)
        #expect(MailMessage.address(of: "no-at-sign") == nil)
        #expect(MailMessage.address(of: "") == nil)
        #expect(MailMessage.address(of: "a b@example.com") == nil)
    }

    @Test func displayNames() throws {
        #expect(MailHeader.mailbox("Shop <shop@example.com>") == "Shop <shop@example.com>")
        #expect(MailHeader.mailbox("Shop, Inc. <shop@example.com>") == "\"Shop, Inc.\" <shop@example.com>")
        #expect(MailHeader.mailbox(#""Say \"hi\"" <shop@example.com>"#) == #""Say \"hi\"" <shop@example.com>"#)
        #expect(MailHeader.mailbox(#""Shop" <shop@example.com>"#) == "Shop <shop@example.com>")
        #expect(MailHeader.mailbox("Boutique Zoë <shop@example.com>") == "=?UTF-8?B?Qm91dGlxdWUgWm/Dqw==?= <shop@example.com>")
        let view = try RecipientView.parse(Fixtures.message(from: "Shop, Inc. <shop@example.com>").rfc5322())
        #expect(view.from == "\"Shop, Inc.\" <shop@example.com>")
    }
}
