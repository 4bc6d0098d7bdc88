/// Percent-encoding and URL splitting the way SigV4 (and botocore) do them.
///
/// Foundation's URL is not used: it rejects or rewrites URLs that SigV4 must sign as given
/// (raw UTF-8 in a path, `//` runs, an S3 key that is already encoded).
public enum AWSURI {
    /// Percent-encodes every byte of the UTF-8 form except RFC 3986's unreserved characters
    /// (`A-Z a-z 0-9 - . _ ~`), with uppercase hex: a query name or value, an S3 key segment.
    public static func encode(_ string: String) -> String {
        encode(string, keeping: [])
    }

    /// Like `encode`, but keeps `/`: an S3 object key in a path, as botocore writes it.
    public static func encodePath(_ string: String) -> String {
        encode(string, keeping: [UInt8(ascii: "/")])
    }

    static func encode(_ string: String, keeping extra: Set<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            if isUnreserved(byte) || extra.contains(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes (a malformed escape stays as it is); `+` is left alone.
    public static func decode(_ string: String, plusAsSpace: Bool = false) -> String {
        let bytes = Array(string.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    static let hexDigits = Array("0123456789ABCDEF".utf8)

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A URL split like Python's `urlsplit`: `scheme://netloc path ?query #fragment`, nothing decoded.
    public struct Parts: Sendable, Equatable {
        public var scheme: String
        public var netloc: String
        public var path: String
        public var query: String?
        public var fragment: String?

        public init(_ url: String) {
            var rest = Substring(url)
            if let range = rest.range(of: "://") {
                scheme = rest[..<range.lowerBound].lowercased()
                rest = rest[range.upperBound...]
                let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
                netloc = String(rest[..<end])
                rest = rest[end...]
            } else {
                scheme = ""
                netloc = ""
            }
            if let hash = rest.firstIndex(of: "#") {
                fragment = String(rest[rest.index(after: hash)...])
                rest = rest[..<hash]
            } else {
                fragment = nil
            }
            if let mark = rest.firstIndex(of: "?") {
                query = String(rest[rest.index(after: mark)...])
                rest = rest[..<mark]
            } else {
                query = nil
            }
            path = String(rest)
        }

        /// The host without user info, lowercased; IPv6 keeps its brackets.
        public var hostname: String {
            var hostPort = Substring(netloc)
            if let at = hostPort.lastIndex(of: "@") { hostPort = hostPort[hostPort.index(after: at)...] }
            if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
                return hostPort[...close].lowercased()
            }
            if let colon = hostPort.firstIndex(of: ":") { hostPort = hostPort[..<colon] }
            return hostPort.lowercased()
        }

        /// The explicit port, if the URL names one.
        public var port: Int? {
            var hostPort = Substring(netloc)
            if let at = hostPort.lastIndex(of: "@") { hostPort = hostPort[hostPort.index(after: at)...] }
            if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
                hostPort = hostPort[hostPort.index(after: close)...]
            }
            guard let colon = hostPort.firstIndex(of: ":") else { return nil }
            return Int(hostPort[hostPort.index(after: colon)...])
        }

        /// The Host header a client sends for this URL: the lowercased host, and the port when it is not the scheme's default.
        public var hostHeader: String {
            let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
            if let port, port != defaultPort { return "\(hostname):\(port)" }
            return hostname
        }

        /// Put back together like Python's `urlunsplit`.
        public var string: String {
            var url = scheme.isEmpty ? "" : scheme + ":"
            if !netloc.isEmpty || !scheme.isEmpty {
                url += "//" + netloc + (path.isEmpty || path.hasPrefix("/") ? path : "/" + path)
            } else {
                url += path
            }
            if let query, !query.isEmpty { url += "?" + query }
            if let fragment, !fragment.isEmpty { url += "#" + fragment }
            return url
        }
    }
}
