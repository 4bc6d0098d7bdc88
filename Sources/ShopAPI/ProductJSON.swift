import Hummingbird
import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON of the catalog's read routes, written straight into bytes. `GET /products/{id}` and
/// `GET /products` are the store's hottest routes, and Foundation's `JSONEncoder` (generic containers,
/// metadata lookups, a dictionary per object) was the largest single cost in their profile. The bytes are
/// the same as `JSONCoding.encoder` writes for `Product` and `PageBody<Product>` (`ProductJSONTests`
/// holds the two to each other): same key order, no escaped slashes, UTF-8 left as it is.
struct JSONBytes {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A JSON string: quotes, backslashes and control characters escaped as JSONEncoder escapes them.
    mutating func string(_ text: String) {
        JSONEscaping.appendString(text, to: &bytes)
    }

    mutating func int(_ value: some BinaryInteger) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// `"2026-11-25T20:11:02.123Z"`, as `JSONCoding.iso8601` writes it.
    mutating func date(_ date: Date) {
        let t = CivilTime(date)
        bytes.append(UInt8(ascii: "\""))
        padded(t.year, 4)
        bytes.append(UInt8(ascii: "-"))
        padded(t.month, 2)
        bytes.append(UInt8(ascii: "-"))
        padded(t.day, 2)
        bytes.append(UInt8(ascii: "T"))
        padded(t.hour, 2)
        bytes.append(UInt8(ascii: ":"))
        padded(t.minute, 2)
        bytes.append(UInt8(ascii: ":"))
        padded(t.second, 2)
        bytes.append(UInt8(ascii: "."))
        padded(t.millisecond, 3)
        raw("Z\"")
    }

    private mutating func padded(_ value: Int64, _ width: Int) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        for _ in digits..<max(width, digits) { bytes.append(UInt8(ascii: "0")) }
        int(value)
    }

    mutating func product(_ p: Product) {
        raw("{\"id\":")
        string(p.id)
        raw(",\"name\":")
        string(p.name)
        raw(",\"description\":")
        string(p.description)
        raw(",\"price\":")
        int(p.price)
        raw(",\"currency\":")
        string(p.currency)
        raw(",\"quantity\":")
        int(p.quantity)
        raw(",\"category\":")
        string(p.category)
        raw(",\"imageUrl\":")
        if let url = p.imageUrl { string(url) } else { raw("null") }
        raw(",\"version\":")
        int(p.version)
        raw(",\"createdAt\":")
        date(p.createdAt)
        raw(",\"updatedAt\":")
        date(p.updatedAt)
        raw(",\"options\":[")
        for (index, option) in p.options.enumerated() {
            if index > 0 { raw(",") }
            raw("{\"name\":")
            string(option.name)
            raw(",\"values\":[")
            for (j, value) in option.values.enumerated() {
                if j > 0 { raw(",") }
                string(value)
            }
            raw("]}")
        }
        raw("],\"variants\":[")
        for (index, v) in p.variants.enumerated() {
            if index > 0 { raw(",") }
            raw("{\"id\":")
            string(v.id)
            raw(",\"sku\":")
            string(v.sku)
            raw(",\"options\":")
            choices(v.options, in: p.options)
            raw(",\"price\":")
            int(v.price)
            raw(",\"quantity\":")
            int(v.quantity)
            raw(",\"imageUrl\":")
            optional(v.imageUrl)
            raw("}")
        }
        raw("]}")
    }

    /// A variant's (or an order line's) option values as an object, in the product's option order where it is known.
    private mutating func choices(_ chosen: [String: String], in options: [ProductOption] = []) {
        raw("{")
        var written = 0
        for option in options {
            guard let value = chosen[option.name] else { continue }
            if written > 0 { raw(",") }
            string(option.name)
            raw(":")
            string(value)
            written += 1
        }
        if written < chosen.count {
            for key in chosen.keys.sorted() where !options.contains(where: { $0.name == key }) {
                if written > 0 { raw(",") }
                string(key)
                raw(":")
                string(chosen[key]!)
                written += 1
            }
        }
        raw("}")
    }

    /// An order, as `Order.encode(to:)` writes it: `POST /orders` answers one per order placed, the hot write path.
    mutating func order(_ o: Order) {
        raw("{\"id\":")
        string(o.id)
        raw(",\"userId\":")
        string(o.userId)
        raw(",\"lines\":[")
        for (index, line) in o.lines.enumerated() {
            if index > 0 { raw(",") }
            raw("{\"productId\":")
            string(line.productId)
            raw(",\"variantId\":")
            string(line.variantId)
            raw(",\"sku\":")
            optional(line.sku)
            raw(",\"options\":")
            choices(line.options)
            raw(",\"name\":")
            string(line.name)
            raw(",\"unitPrice\":")
            int(line.unitPrice)
            raw(",\"quantity\":")
            int(line.quantity)
            raw(",\"lineTotal\":")
            int(line.lineTotal)
            raw(",\"tax\":")
            int(line.tax)
            raw("}")
        }
        raw("],\"subtotal\":")
        int(o.subtotal)
        raw(",\"shippingTotal\":")
        int(o.shippingTotal)
        raw(",\"shippingTax\":")
        int(o.shippingTax)
        raw(",\"taxTotal\":")
        int(o.taxTotal)
        raw(",\"total\":")
        int(o.total)
        raw(",\"currency\":")
        string(o.currency)
        raw(",\"status\":")
        string(o.status.rawValue)
        raw(",\"shippingAddress\":")
        if let a = o.shippingAddress {
            raw("{\"name\":")
            string(a.name)
            raw(",\"line1\":")
            string(a.line1)
            raw(",\"line2\":")
            optional(a.line2)
            raw(",\"city\":")
            string(a.city)
            raw(",\"region\":")
            optional(a.region)
            raw(",\"postalCode\":")
            string(a.postalCode)
            raw(",\"country\":")
            string(a.country)
            raw(",\"phone\":")
            optional(a.phone)
            raw("}")
        } else {
            raw("null")
        }
        raw(",\"shippingMethod\":")
        if let m = o.shippingMethod {
            raw("{\"id\":")
            string(m.id)
            raw(",\"name\":")
            string(m.name)
            raw(",\"price\":")
            int(m.price)
            raw(",\"minDays\":")
            int(m.minDays)
            raw(",\"maxDays\":")
            int(m.maxDays)
            raw("}")
        } else {
            raw("null")
        }
        raw(",\"shipment\":")
        if let s = o.shipment {
            raw("{\"carrier\":")
            optional(s.carrier)
            raw(",\"trackingNumber\":")
            optional(s.trackingNumber)
            raw(",\"trackingUrl\":")
            optional(s.trackingUrl)
            raw(",\"shippedAt\":")
            date(s.shippedAt)
            raw("}")
        } else {
            raw("null")
        }
        raw(",\"email\":")
        optional(o.email)
        raw(",\"createdAt\":")
        date(o.createdAt)
        raw(",\"updatedAt\":")
        date(o.updatedAt)
        raw(",\"expiresAt\":")
        date(o.expiresAt)
        raw("}")
    }

    private mutating func optional(_ text: String?) {
        if let text { string(text) } else { raw("null") }
    }

    mutating func page(_ items: [Product], nextCursor: String?) {
        raw("{\"items\":[")
        for index in items.indices {
            if index > 0 { raw(",") }
            product(items[index])
        }
        raw("],\"nextCursor\":")
        if let nextCursor { string(nextCursor) } else { raw("null") }
        raw("}")
    }
}

extension JSONCoding {
    /// A product as the API's JSON response.
    static func response(product: Product, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var json = JSONBytes(capacity: 640 + 160 * product.variants.count)
        json.product(product)
        return bytesResponse(json, status: status, headers: headers)
    }

    /// An order as the API's JSON response.
    static func response(order: Order, status: HTTPResponse.Status, headers: HTTPFields = [:]) -> Response {
        var json = JSONBytes(capacity: 1024)
        json.order(order)
        return bytesResponse(json, status: status, headers: headers)
    }

    /// A page of products as the API's JSON response.
    static func response(products: [Product], nextCursor: String?, headers: HTTPFields = [:]) -> Response {
        var json = JSONBytes(capacity: 64 + 560 * products.count)
        json.page(products, nextCursor: nextCursor)
        return bytesResponse(json, status: .ok, headers: headers)
    }

    private static func bytesResponse(_ json: JSONBytes, status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: json.bytes)))
    }
}
