import Foundation
import ShopDomain
import Testing

@testable import ShopMail

@Suite("EmailRenderer: the built-in templates, a merchant's overrides, hostile names")
struct EmailRendererTests {
    let renderer: EmailRenderer
    init() throws { renderer = try EmailRenderer(overridesDirectory: nil) }

    @Test func money() {
        #expect(Money.format(1234, currency: "USD") == "$12.34")
        #expect(Money.format(500, currency: "EUR") == "€5.00")
        #expect(Money.format(500, currency: "GBP") == "£5.00")
        #expect(Money.format(500, currency: "JPY") == "¥500")
        #expect(Money.format(1000, currency: "CHF") == "CHF 10.00")
        #expect(Money.format(1500, currency: "KWD") == "KWD 1.500")
        #expect(Money.format(123_456_789, currency: "USD") == "$1,234,567.89")
        #expect(Money.format(1_234_567, currency: "KRW") == "₩1,234,567")
        #expect(Money.format(5, currency: "USD") == "$0.05")
        #expect(Money.format(-500, currency: "USD") == "-$5.00")
    }

    @Test func confirmationHasLinesMoneyAddressAndLink() throws {
        let order = Fixtures.order()
        let email = try renderer.render(.orderConfirmation, order: order, refundAmount: nil, webURL: "https://shop.example.com/")
        #expect(email.subject == "Order 3c4d5e6f confirmed")
        let expectedText = """
            Thank you for your order.

            We have your payment for order 3c4d5e6f and are getting it ready.

            Blue Mug × 2: $24.68
            Tea Towel × 1: $5.00

            Subtotal: $29.68
            Shipping (Standard, 3–5 days): $7.99
            Tax: $2.50
            Total: $40.17

            Shipping to:
            Ada Lovelace
            1 Analytical Way
            Flat 2
            London N1 9GU
            GB
            +44 20 7946 0000

            Your orders: https://shop.example.com/#/orders

            """
        #expect(email.text == expectedText)
        #expect(email.html.contains("<tr><th scope=\"row\">Blue Mug</th><td>2</td><td>$24.68</td></tr>"))
        #expect(email.html.contains("<tr><th scope=\"row\" colspan=\"2\">Total</th><td><strong>$40.17</strong></td></tr>"))
        #expect(email.html.contains("Shipping (Standard, 3–5 days)</th><td>$7.99</td>"))
        #expect(email.html.contains("Ada Lovelace<br>"))
        #expect(email.html.contains("<a href=\"https://shop.example.com/#/orders\">See your orders</a>"))
        #expect(email.html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
    }

    @Test func anOrderFromBeforeShippingHasATotalOnly() throws {
        var order = Fixtures.order(currency: "JPY")
        order.shippingMethod = nil
        order.shippingAddress = nil
        let email = try renderer.render(.orderConfirmation, order: order, refundAmount: nil, webURL: "https://shop.example.com")
        #expect(!email.text.contains("Subtotal") && !email.text.contains("Shipping to"))
        #expect(email.text.contains("Blue Mug × 2: ¥2,468\n"))
        #expect(email.text.contains("Total: ¥4,017\n"))
    }

    @Test func shippedHasCarrierTrackingNumberAndLink() throws {
        let shipment = Shipment(
            carrier: "Royal Mail", trackingNumber: "RM 1234-5678", trackingUrl: "https://track.example.com/?n=RM1234&x=1",
            shippedAt: Fixtures.date)
        let email = try renderer.render(
            .orderShipped, order: Fixtures.order(shipment: shipment), refundAmount: nil, webURL: "https://shop.example.com")
        #expect(email.subject == "Order 3c4d5e6f has shipped")
        #expect(
            email.text.contains(
                "Carrier: Royal Mail\nTracking number: RM 1234-5678\nTrack the parcel: https://track.example.com/?n=RM1234&x=1\n"))
        #expect(email.html.contains("<dt>Carrier</dt><dd>Royal Mail</dd>"))
        #expect(email.html.contains("<dt>Tracking number</dt><dd>RM 1234-5678</dd>"))
        #expect(email.html.contains("<a href=\"https://track.example.com/?n=RM1234&amp;x=1\">Track the parcel</a>"))

        let bare = try renderer.render(
            .orderShipped,
            order: Fixtures.order(shipment: Shipment(carrier: nil, trackingNumber: nil, trackingUrl: nil, shippedAt: Fixtures.date)),
            refundAmount: nil, webURL: "https://shop.example.com")
        #expect(!bare.text.contains("Carrier") && !bare.text.contains("Track"))
        #expect(bare.text.hasPrefix("Order 3c4d5e6f is on its way.\n"))

        let script = try renderer.render(
            .orderShipped,
            order: Fixtures.order(
                shipment: Shipment(carrier: nil, trackingNumber: "1", trackingUrl: "javascript:alert(1)", shippedAt: Fixtures.date)),
            refundAmount: nil, webURL: "https://shop.example.com")
        #expect(!script.html.contains("javascript:"), "only http(s) tracking links")
    }

    @Test func cancelledAnnouncesTheRefundOfTheTotal() throws {
        let email = try renderer.render(
            .orderCancelled, order: Fixtures.order(currency: "EUR"), refundAmount: nil, webURL: "https://shop.example.com")
        #expect(email.subject == "Order 3c4d5e6f cancelled")
        #expect(email.text.contains("Your refund of €40.17 is on its way"))
        #expect(email.html.contains("Your refund of <strong>€40.17</strong> is on its way"))
    }

    @Test func refundedNamesTheAmountRefunded() throws {
        let email = try renderer.render(
            .orderRefunded, order: Fixtures.order(currency: "GBP"), refundAmount: 1500, webURL: "https://shop.example.com")
        #expect(email.subject == "Refund for order 3c4d5e6f")
        #expect(email.text.hasPrefix("We have refunded £15.00 for order 3c4d5e6f"))
        #expect(email.html.contains("We have refunded <strong>£15.00</strong> for order 3c4d5e6f"))
    }

    @Test func hostileProductNamesAreEscapedInHTMLAndNeverMakeAHeader() throws {
        let hostile = "<script>alert(1)</script> \"&' <img src=x onerror=alert(2)>\r\nBcc: victim@example.net"
        let order = Fixtures.order(
            lines: [OrderLine(productId: "p1", name: hostile, unitPrice: 100, quantity: 1)],
            address: Address(name: "<b>Eve</b>", line1: "\"quoted\" & 'single'", city: "X", postalCode: "1", country: "GB"))
        for template in EmailTemplate.allCases {
            let email = try renderer.render(template, order: order, refundAmount: 100, webURL: "https://shop.example.com")
            #expect(!email.html.contains("<script>") && !email.html.contains("<img") && !email.html.contains("<b>Eve"), "\(template)")
            if template == .orderConfirmation || template == .orderCancelled {
                #expect(email.html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39; &lt;img src=x onerror=alert(2)&gt;"))
                #expect(email.text.contains("<script>alert(1)</script> \"&'"), "the text part shows the name as it is")
            }
        }
        // A merchant's subject that names a product: still one header line.
        let directory = try Self.directory(["order-confirmation.subject.mustache": "{{#order.lines}}{{name}}{{/order.lines}}"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let custom = try EmailRenderer(overridesDirectory: directory)
        let email = try custom.render(.orderConfirmation, order: order, refundAmount: nil, webURL: "https://shop.example.com")
        #expect(!email.subject.contains("\r") && !email.subject.contains("\n"))
        let view = try RecipientView.parse(
            MailMessage(
                from: "shop@example.com", to: "a@example.org", subject: email.subject, text: email.text, html: email.html, messageId: "x@y",
                date: Fixtures.date
            )
            .rfc5322())
        #expect(!view.headerNames.contains("Bcc"))
        #expect(view.subject == "<script>alert(1)</script> \"&' <img src=x onerror=alert(2)> Bcc: victim@example.net")
        #expect(view.html.contains("&lt;script&gt;"))
    }

    @Test func overridesReplaceOnlyTheirFile() throws {
        let directory = try Self.directory([
            "order-shipped.txt.mustache": "Parcel {{order.number}} via {{order.shipment.carrier}}.\n",
            "unrelated.txt": "ignored",
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let custom = try EmailRenderer(overridesDirectory: directory)
        #expect(custom.overriddenFiles == [directory + "/order-shipped.txt.mustache"])
        let order = Fixtures.order(shipment: Shipment(carrier: "DHL", trackingNumber: nil, trackingUrl: nil, shippedAt: Fixtures.date))
        let email = try custom.render(.orderShipped, order: order, refundAmount: nil, webURL: "https://shop.example.com")
        #expect(email.text == "Parcel 3c4d5e6f via DHL.\n")
        #expect(email.subject == "Order 3c4d5e6f has shipped")
        #expect(
            email.html == (try renderer.render(.orderShipped, order: order, refundAmount: nil, webURL: "https://shop.example.com")).html)
    }

    @Test func aBrokenOverrideStopsTheStartNamingFileAndLine() throws {
        let directory = try Self.directory(["order-refunded.html.mustache": "<p>\n{{#order.lines}}\n{{name}}\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect {
            _ = try EmailRenderer(overridesDirectory: directory)
        } throws: { error in
            (error as? EmailTemplateError)?.description
                == "email template \(directory)/order-refunded.html.mustache: line 2: {{#order.lines}} is never closed"
        }
        #expect(throws: EmailTemplateError.self) { _ = try EmailRenderer(overridesDirectory: directory + "/does-not-exist") }
    }

    @Test func everyBuiltInTemplateParses() throws {
        for template in EmailTemplate.allCases {
            let source = DefaultEmailTemplates.source(template)
            for (text, html) in [(source.subject, false), (source.text, false), (source.html, true)] {
                _ = try MustacheTemplate(text, escapesHTML: html)
            }
        }
    }

    static func directory(_ files: [String: String]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mail-templates-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, content) in files {
            try Data(content.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        return directory
    }
}
