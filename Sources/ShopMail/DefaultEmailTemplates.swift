/// The built-in email templates, compiled into the binary (a Lambda function's zip carries no files). A merchant copies
/// one into `SHOP_MAIL_TEMPLATES_DIR` as `<template>.subject.mustache`, `.txt.mustache` or `.html.mustache` and edits it;
/// `EmailRenderer` lists the names they can use. Subjects name the order by `order.number`, the last 8 characters of
/// its id, as the website's My orders page does ("Order 1a2b3c4d").
public enum DefaultEmailTemplates {
    public static func source(_ template: EmailTemplate) -> (subject: String, text: String, html: String) {
        switch template {
        case .orderConfirmation: (confirmationSubject, confirmationText, confirmationHTML)
        case .orderShipped: (shippedSubject, shippedText, shippedHTML)
        case .orderCancelled: (cancelledSubject, cancelledText, cancelledHTML)
        case .orderRefunded: (refundedSubject, refundedText, refundedHTML)
        }
    }

    // MARK: order-confirmation

    static let confirmationSubject = "Order {{order.number}} confirmed"

    static let confirmationText = """
        Thank you for your order.

        We have your payment for order {{order.number}} and are getting it ready.

        {{#order.lines}}
        {{name}} × {{quantity}}: {{lineTotal}}
        {{/order.lines}}

        {{#order.hasBreakdown}}
        Subtotal: {{order.subtotal}}
        Shipping ({{order.shippingMethod.name}}, {{order.shippingMethod.days}}): {{order.shipping}}
        Tax: {{order.tax}}
        {{/order.hasBreakdown}}
        Total: {{order.total}}
        {{#order.shippingAddress}}

        Shipping to:
        {{#lines}}
        {{.}}
        {{/lines}}
        {{/order.shippingAddress}}

        Your orders: {{ordersUrl}}

        """

    static let confirmationHTML = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Order {{order.number}} confirmed</title>
        </head>
        <body>
        <h1>Thank you for your order</h1>
        <p>We have your payment for order {{order.number}} and are getting it ready.</p>
        <table>
        <caption>Order {{order.number}}</caption>
        <thead>
        <tr><th scope="col">Product</th><th scope="col">Quantity</th><th scope="col">Price</th></tr>
        </thead>
        <tbody>
        {{#order.lines}}
        <tr><th scope="row">{{name}}</th><td>{{quantity}}</td><td>{{lineTotal}}</td></tr>
        {{/order.lines}}
        </tbody>
        <tfoot>
        {{#order.hasBreakdown}}
        <tr><th scope="row" colspan="2">Subtotal</th><td>{{order.subtotal}}</td></tr>
        <tr><th scope="row" colspan="2">Shipping ({{order.shippingMethod.name}}, {{order.shippingMethod.days}})</th><td>{{order.shipping}}</td></tr>
        <tr><th scope="row" colspan="2">Tax</th><td>{{order.tax}}</td></tr>
        {{/order.hasBreakdown}}
        <tr><th scope="row" colspan="2">Total</th><td><strong>{{order.total}}</strong></td></tr>
        </tfoot>
        </table>
        {{#order.shippingAddress}}
        <h2>Shipping to</h2>
        <address>
        {{#lines}}
        {{.}}<br>
        {{/lines}}
        </address>
        {{/order.shippingAddress}}
        <p><a href="{{ordersUrl}}">See your orders</a></p>
        </body>
        </html>

        """

    // MARK: order-shipped

    static let shippedSubject = "Order {{order.number}} has shipped"

    static let shippedText = """
        Order {{order.number}} is on its way.

        {{#order.shipment}}
        {{#carrier}}
        Carrier: {{carrier}}
        {{/carrier}}
        {{#trackingNumber}}
        Tracking number: {{trackingNumber}}
        {{/trackingNumber}}
        {{#trackingUrl}}
        Track the parcel: {{trackingUrl}}
        {{/trackingUrl}}
        {{/order.shipment}}
        {{#order.shippingAddress}}

        Shipping to:
        {{#lines}}
        {{.}}
        {{/lines}}
        {{/order.shippingAddress}}

        Your orders: {{ordersUrl}}

        """

    static let shippedHTML = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Order {{order.number}} has shipped</title>
        </head>
        <body>
        <h1>Order {{order.number}} is on its way</h1>
        {{#order.shipment}}
        <dl>
        {{#carrier}}
        <dt>Carrier</dt><dd>{{carrier}}</dd>
        {{/carrier}}
        {{#trackingNumber}}
        <dt>Tracking number</dt><dd>{{trackingNumber}}</dd>
        {{/trackingNumber}}
        </dl>
        {{#trackingUrl}}
        <p><a href="{{trackingUrl}}">Track the parcel</a></p>
        {{/trackingUrl}}
        {{/order.shipment}}
        {{#order.shippingAddress}}
        <h2>Shipping to</h2>
        <address>
        {{#lines}}
        {{.}}<br>
        {{/lines}}
        </address>
        {{/order.shippingAddress}}
        <p><a href="{{ordersUrl}}">See your orders</a></p>
        </body>
        </html>

        """

    // MARK: order-cancelled

    static let cancelledSubject = "Order {{order.number}} cancelled"

    static let cancelledText = """
        Order {{order.number}} has been cancelled.

        Your refund of {{refund.amount}} is on its way to the card you paid with. Banks usually take a few days to show it.

        {{#order.lines}}
        {{name}} × {{quantity}}: {{lineTotal}}
        {{/order.lines}}
        Total: {{order.total}}

        Your orders: {{ordersUrl}}

        """

    static let cancelledHTML = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Order {{order.number}} cancelled</title>
        </head>
        <body>
        <h1>Order {{order.number}} has been cancelled</h1>
        <p>Your refund of <strong>{{refund.amount}}</strong> is on its way to the card you paid with. Banks usually take a few days to show it.</p>
        <ul>
        {{#order.lines}}
        <li>{{name}} × {{quantity}}: {{lineTotal}}</li>
        {{/order.lines}}
        </ul>
        <p>Total: {{order.total}}</p>
        <p><a href="{{ordersUrl}}">See your orders</a></p>
        </body>
        </html>

        """

    // MARK: order-refunded

    static let refundedSubject = "Refund for order {{order.number}}"

    static let refundedText = """
        We have refunded {{refund.amount}} for order {{order.number}} to the card you paid with.

        Banks usually take a few days to show it.

        Your orders: {{ordersUrl}}

        """

    static let refundedHTML = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Refund for order {{order.number}}</title>
        </head>
        <body>
        <h1>Your refund is on its way</h1>
        <p>We have refunded <strong>{{refund.amount}}</strong> for order {{order.number}} to the card you paid with.</p>
        <p>Banks usually take a few days to show it.</p>
        <p><a href="{{ordersUrl}}">See your orders</a></p>
        </body>
        </html>

        """
}
