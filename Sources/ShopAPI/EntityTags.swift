import ShopDomain
import ShopSupport

/// Strong entity tags and `If-None-Match`, for every representation the server revalidates: a product,
/// a page of products, a website file.
enum EntityTags {
    /// Whether an `If-None-Match` list names `etag`, by the weak comparison RFC 9110 (13.1.2) requires for
    /// it: `W/"x"` matches `"x"`, since a cache or proxy that changes the encoding marks the tag weak. `*`
    /// matches any current representation (RFC 9110, 13.1.2) where the caller has one to answer: a website file, a
    /// product, a page of products (a product that does not exist is a 404 before any tag is compared).
    static func matches(_ ifNoneMatch: String?, _ etag: String, wildcard: Bool = false) -> Bool {
        guard let ifNoneMatch else { return false }
        let opaque = opaqueTag(etag[...])
        return ifNoneMatch.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingWhitespace()
            return opaqueTag(tag[...]) == opaque || (wildcard && tag == "*")
        }
    }

    /// The tag without its weakness indicator.
    private static func opaqueTag(_ tag: Substring) -> Substring {
        tag.hasPrefix("W/") ? tag.dropFirst(2) : tag
    }

    /// A tag for `bytes`: 64-bit FNV-1a in hex and the length. A cache validator, not a security measure.
    static func digest(_ bytes: some Sequence<UInt8>) -> String {
        var hash = FNV()
        var count = 0
        for byte in bytes {
            hash.add(byte: byte)
            count += 1
        }
        return hash.hex + "-" + String(count, radix: 16)
    }

    /// A page of products' tag, made of what their own tags are made of (id, version, stock, last change, each
    /// variant's stock) and the next cursor, hashed as numbers: revalidating a page costs a read but no encoding,
    /// and no string per product.
    static func page(_ items: [Product], nextCursor: String?) -> String {
        var hash = FNV()
        for index in items.indices {
            hash.add(items[index].id.utf8)
            hash.add(items[index].version)
            hash.add(Int(items[index].updatedAt.unixMillis))
            for variant in items[index].variants { hash.add(variant.quantity) }
            hash.add(-1)
        }
        if let nextCursor { hash.add(nextCursor.utf8) } else { hash.add(-2) }
        return "\"p-" + hash.hex + "-" + String(items.count, radix: 16) + "\""
    }

    /// 64-bit FNV-1a.
    private struct FNV {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325

        mutating func add(_ bytes: String.UTF8View) {
            for byte in bytes { add(byte: byte) }
            add(byte: 0)
        }

        mutating func add(_ number: Int) {
            var remaining = UInt64(bitPattern: Int64(number))
            for _ in 0..<8 {
                add(byte: UInt8(truncatingIfNeeded: remaining))
                remaining >>= 8
            }
        }

        mutating func add(byte: UInt8) {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }

        /// Sixteen lower-case hex digits.
        var hex: String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
    }
}
