import Crypto
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Opaque, authenticated page cursors: the store's page key and the listing it
/// belongs to, signed with HMAC-SHA256. A forged, tampered or misplaced cursor is a 400.
public struct CursorCodec: Sendable {
    let key: SymmetricKey

    public init(secret: [UInt8]) {
        key = SymmetricKey(data: secret)
    }

    /// Wraps a store key for the listing named `scope` (e.g. "products|category=books").
    public func encode(_ storeKey: String, scope: String) -> String {
        let payload = Data((scope + "\n" + storeKey).utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return payload.base64URLEncoded() + "." + Data(mac).base64URLEncoded()
    }

    /// The store key inside `cursor`, if it is authentic and made for `scope`.
    public func decode(_ cursor: String, scope: String) throws(APIError) -> String {
        let parts = cursor.split(separator: ".", omittingEmptySubsequences: false)
        guard cursor.utf8.count <= 2048, parts.count == 2,
            let payload = Data(base64URLEncoded: String(parts[0])), let mac = Data(base64URLEncoded: String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key)
        else {
            throw APIError.badRequest("invalid_cursor", "The cursor is not valid; start again from the first page.")
        }
        let text = String(decoding: payload, as: UTF8.self)
        guard let newline = text.firstIndex(of: "\n"), text[..<newline] == scope else {
            throw APIError.badRequest("invalid_cursor", "The cursor belongs to another listing; start again from the first page.")
        }
        return String(text[text.index(after: newline)...])
    }
}
