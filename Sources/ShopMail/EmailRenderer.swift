import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The emails a shopper gets, one per order event that tells them something.
public enum EmailTemplate: String, Sendable, CaseIterable {
    /// `order.paid`: lines, money, address, link.
    case orderConfirmation = "order-confirmation"
    /// `order.fulfilled`: carrier, tracking number and link when given.
    case orderShipped = "order-shipped"
    /// `order.cancelled` of a paid order: the refund (the order's total) is on its way.
    case orderCancelled = "order-cancelled"
    /// `order.refunded`: the amount refunded.
    case orderRefunded = "order-refunded"
}

/// A template that could not be read or parsed, named by its file (or `built-in <name>`).
public struct EmailTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "email template \(file): \(message)" }
}

/// Renders the emails from Mustache templates: the built-in ones (`DefaultEmailTemplates`, compiled in) or, for each
/// file present in `overridesDirectory` (`SHOP_MAIL_TEMPLATES_DIR`), the merchant's own: `<template>.subject.mustache`,
/// `<template>.txt.mustache`, `<template>.html.mustache` (e.g. `order-shipped.html.mustache`). Every template is
/// parsed once, here, so a mistake in one stops the start, naming the file and line.
///
/// What a template sees (every amount already formatted as money, e.g. `$12.34`; absent values are empty and false):
/// - `shopUrl`: `SHOP_WEB_URL`; `ordersUrl`: its My orders page (`<shopUrl>/#/orders`).
/// - `order.id`, `order.number` (the id's last 8 characters, as the website shows it: "Order 1a2b3c4d"), `order.currency`.
/// - `order.lines`: `name`, `quantity`, `unitPrice`, `lineTotal`.
/// - `order.subtotal`, `order.shipping`, `order.tax`, `order.total`; `order.hasBreakdown` (false for orders placed
///   before shipping and tax existed, which have a total only).
/// - `order.shippingMethod.name`, `order.shippingMethod.days` ("3–5 days").
/// - `order.shippingAddress`: `name`, `line1`, `line2`, `city`, `region`, `postalCode`, `country`, `phone`, and `lines`
///   (the address as lines of text, empty ones left out).
/// - `order.shipment`: `carrier`, `trackingNumber`, `trackingUrl` (only an http(s) URL).
/// - `refund.amount`: the amount refunded (`order-refunded`) or to be refunded (`order-cancelled`: the order's total).
public struct EmailRenderer: Sendable {
    struct Templates: Sendable {
        var subject: MustacheTemplate
        var text: MustacheTemplate
        var html: MustacheTemplate
    }

    let templates: [EmailTemplate: Templates]
    /// The files that replaced built-in templates, for a log line at start.
    public let overriddenFiles: [String]

    public init(overridesDirectory: String?) throws {
        var templates: [EmailTemplate: Templates] = [:]
        var overridden: [String] = []
        if let directory = overridesDirectory {
            var isDirectory = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory else {
                throw EmailTemplateError(file: directory, message: "SHOP_MAIL_TEMPLATES_DIR is not a directory")
            }
        }
        for template in EmailTemplate.allCases {
            let defaults = DefaultEmailTemplates.source(template)
            func load(_ kind: String, _ builtIn: String, html: Bool) throws -> MustacheTemplate {
                var source = builtIn
                var file = "built-in \(template.rawValue).\(kind).mustache"
                if let directory = overridesDirectory {
                    let path =
                        directory.hasSuffix("/")
                        ? directory + "\(template.rawValue).\(kind).mustache" : directory + "/\(template.rawValue).\(kind).mustache"
                    if FileManager.default.fileExists(atPath: path) {
                        guard let data = FileManager.default.contents(atPath: path) else {
                            throw EmailTemplateError(file: path, message: "cannot be read")
                        }
                        guard let text = String(validating: Array(data), as: UTF8.self) else {
                            throw EmailTemplateError(file: path, message: "is not UTF-8")
                        }
                        source = text
                        file = path
                        overridden.append(path)
                    }
                }
                do {
                    return try MustacheTemplate(source, escapesHTML: html)
                } catch {
                    throw EmailTemplateError(file: file, message: error.description)
                }
            }
            templates[template] = Templates(
                subject: try load("subject", defaults.subject, html: false), text: try load("txt", defaults.text, html: false),
                html: try load("html", defaults.html, html: true))
        }
        self.templates = templates
        self.overriddenFiles = overridden
    }

    /// The email `template` for `order`. `refundAmount` (minor units) is the amount refunded for `orderRefunded`;
    /// `orderCancelled` announces the order's total when it is nil. `webURL` is the website's origin (`SHOP_WEB_URL`).
    /// The subject comes back as one line (control characters as spaces, runs of spaces as one).
    public func render(_ template: EmailTemplate, order: Order, refundAmount: Int?, webURL: String) throws -> (
        subject: String, text: String, html: String
    ) {
        guard let set = templates[template] else { throw EmailTemplateError(file: template.rawValue, message: "no such template") }
        let context = Self.context(order: order, refundAmount: refundAmount ?? order.total, webURL: webURL)
        var subject = ""
        var lastWasSpace = false
        for character in MailHeader.singleLine(set.subject.render(context)) {
            let isSpace = character == " "
            if !(isSpace && lastWasSpace) { subject.append(character) }
            lastWasSpace = isSpace
        }
        guard !subject.isEmpty else {
            throw EmailTemplateError(file: "\(template.rawValue).subject.mustache", message: "rendered an empty subject")
        }
        return (subject, set.text.render(context), set.html.render(context))
    }

    static func context(order: Order, refundAmount: Int, webURL: String) -> MustacheValue {
        let money = { (amount: Int) in MustacheValue.string(Money.format(amount, currency: order.currency)) }
        var base = webURL.trimmingWhitespace()
        while base.hasSuffix("/") { base.removeLast() }
        let lines = order.lines.map { line in
            MustacheValue.object([
                "name": .string(line.name), "quantity": .string(String(line.quantity)), "unitPrice": money(line.unitPrice),
                "lineTotal": money(line.lineTotal),
            ])
        }
        var fields: [String: MustacheValue] = [
            "id": .string(order.id), "number": .string(String(order.id.suffix(8))), "currency": .string(order.currency),
            "lines": .list(lines), "subtotal": money(order.subtotal), "shipping": money(order.shippingTotal), "tax": money(order.taxTotal),
            "total": money(order.total), "hasBreakdown": .bool(order.shippingMethod != nil),
        ]
        if let method = order.shippingMethod {
            let days =
                method.minDays == method.maxDays
                ? "\(method.maxDays) day\(method.maxDays == 1 ? "" : "s")" : "\(method.minDays)–\(method.maxDays) days"
            fields["shippingMethod"] = .object(["name": .string(method.name), "days": .string(days)])
        }
        if let a = order.shippingAddress {
            let cityLine = [a.city, a.region ?? "", a.postalCode].filter { !$0.isEmpty }.joined(separator: " ")
            let textLines = [a.name, a.line1, a.line2 ?? "", cityLine, a.country, a.phone ?? ""].filter { !$0.isEmpty }
            fields["shippingAddress"] = .object([
                "name": .string(a.name), "line1": .string(a.line1), "line2": .optional(a.line2), "city": .string(a.city),
                "region": .optional(a.region), "postalCode": .string(a.postalCode), "country": .string(a.country),
                "phone": .optional(a.phone), "lines": .list(textLines.map { .string($0) }),
            ])
        }
        if let s = order.shipment {
            let url = s.trackingUrl.flatMap { url in
                let lower = url.lowercased()
                return lower.hasPrefix("https://") || lower.hasPrefix("http://") ? url : nil
            }
            fields["shipment"] = .object([
                "carrier": .optional(s.carrier), "trackingNumber": .optional(s.trackingNumber), "trackingUrl": .optional(url),
            ])
        }
        return .object([
            "shopUrl": .string(base), "ordersUrl": .string(base + "/#/orders"), "order": .object(fields),
            "refund": .object(["amount": money(refundAmount)]),
        ])
    }
}
