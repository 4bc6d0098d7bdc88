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
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var count = 0
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
            count += 1
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + "-" + String(count, radix: 16)
    }
}
