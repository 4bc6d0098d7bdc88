import ShopSupport

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
        PercentEncoding.encode(string, keeping: extra)
    }

    /// Decodes `%XX` escapes (a malformed escape stays as it is); `+` is left alone.
    public static func decode(_ string: String, plusAsSpace: Bool = false) -> String {
        PercentEncoding.decode(string, plusAsSpace: plusAsSpace)
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
            if let range = rest.firstRange(of: "://") {
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
