import Crypto
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// AWS Signature Version 4, as botocore computes it: `SigV4Auth` / `S3SigV4Auth` for headers,
/// `S3SigV4QueryAuth` for presigned URLs. Held to AWS's `aws4_testsuite` and to botocore itself
/// (see Tests/AWSWireTests).
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Every intermediate of one signature, so tests can compare them with the reference files.
    public struct SigningResult: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        /// The `Authorization` header value.
        public var authorization: String
        /// The headers to add to the request (the same as `signedHeaders(...)` returns).
        public var headers: [(String, String)]
    }

    /// Headers to add to the request: Authorization, X-Amz-Date, X-Amz-Security-Token (when a session token is set), and x-amz-content-sha256 when `includeContentSHA256` (S3).
    ///
    /// `headers` are the headers the request will carry; all are signed except hop-by-hop ones and
    /// User-Agent (botocore's list). Without a Host header, the host is taken from `url`, as HTTP clients send it.
    /// Any Authorization or X-Amz-Date among them is replaced, as is X-Amz-Security-Token when a session token is set.
    public func signedHeaders(
        method: String, url: String, headers: [(String, String)], body: [UInt8], date: Date, includeContentSHA256: Bool = false
    ) -> [(String, String)] {
        sign(method: method, url: url, headers: headers, body: body, date: date, includeContentSHA256: includeContentSHA256).headers
    }

    /// Signs a request for header authentication and returns the intermediates as well as the headers.
    ///
    /// The path is normalised (dot segments and empty segments removed) and percent-encoded once more,
    /// as SigV4 requires for every service but S3; for `service == "s3"` it is used exactly as given,
    /// so an S3 key must already be encoded in `url` (see `AWSURI.encodePath`).
    public func sign(
        method: String, url: String, headers: [(String, String)], body: [UInt8], date: Date, includeContentSHA256: Bool = false
    ) -> SigningResult {
        let parts = AWSURI.Parts(url)
        let timestamp = Self.amzDate(date)
        let hasToken = credentials.sessionToken != nil

        var dropped: Set<String> = ["authorization", "x-amz-date"]
        if hasToken { dropped.insert("x-amz-security-token") }
        if includeContentSHA256 { dropped.insert("x-amz-content-sha256") }
        var toSign = headers.filter { !dropped.contains($0.0.lowercased()) }

        var added: [(String, String)] = [("X-Amz-Date", timestamp)]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }

        let payloadHash: String
        if !includeContentSHA256, let given = toSign.first(where: { $0.0.lowercased() == "x-amz-content-sha256" }) {
            payloadHash = given.1
        } else {
            payloadHash = SHA256.hash(data: body).hexEncoded
        }
        if includeContentSHA256 { added.append(("x-amz-content-sha256", payloadHash)) }
        toSign += added

        let (canonicalHeaders, signedHeaderNames) = Self.canonicalHeaders(toSign, parts: parts)
        let canonicalRequest = [
            method.uppercased(),
            canonicalPath(parts.path),
            Self.canonicalQuery(parts.query),
            canonicalHeaders + "\n",
            signedHeaderNames,
            payloadHash,
        ].joined(separator: "\n")

        let (stringToSign, signature) = signature(canonicalRequest: canonicalRequest, timestamp: timestamp)
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(credentialScope(timestamp)), SignedHeaders=\(signedHeaderNames), Signature=\(signature)"
        added.append(("Authorization", authorization))
        return SigningResult(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, authorization: authorization,
            headers: added)
    }

    /// A presigned (query-string) URL, byte-for-byte equal to botocore's S3SigV4QueryAuth for the same inputs.
    ///
    /// S3 rules apply whatever `service` is: the path is signed as given (encode keys with `AWSURI.encodePath`),
    /// the payload is `UNSIGNED-PAYLOAD`, and `headers` (e.g. Content-Type) are bound into the signature,
    /// so the client must send exactly those headers. A query already in `url` is kept, re-encoded, before the auth parameters.
    public func presignedURL(method: String, url: String, headers: [(String, String)], expires: Int, date: Date) -> String {
        presign(method: method, url: url, headers: headers, expires: expires, date: date).url
    }

    /// `presignedURL` with its canonical request and string to sign.
    public func presign(method: String, url: String, headers: [(String, String)], expires: Int, date: Date) -> (
        url: String, canonicalRequest: String, stringToSign: String
    ) {
        var parts = AWSURI.Parts(url)
        let timestamp = Self.amzDate(date)
        // botocore drops the content type its own serializer sets by default: it means nothing in a URL.
        let toSign = headers.filter {
            !($0.0.lowercased() == "content-type" && $0.1 == "application/x-www-form-urlencoded; charset=utf-8")
        }
        let (canonicalHeaders, signedHeaderNames) = Self.canonicalHeaders(toSign, parts: parts)

        var authParams: [(String, String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyId)/\(credentialScope(timestamp))"),
            ("X-Amz-Date", timestamp),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", signedHeaderNames),
        ]
        if let token = credentials.sessionToken { authParams.append(("X-Amz-Security-Token", token)) }

        // Like Python's parse_qs(keep_blank_values=True): decoded, the first value of a repeated name wins, first-seen order.
        var operationParams: [(String, String)] = []
        var seen: Set<String> = []
        for piece in (parts.query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let (name, value) = Self.partition(piece)
            let key = AWSURI.decode(name, plusAsSpace: true)
            if seen.insert(key).inserted {
                operationParams.append((key, AWSURI.decode(value, plusAsSpace: true)))
            }
        }
        parts.query = (operationParams + authParams).map { AWSURI.encode($0.0) + "=" + AWSURI.encode($0.1) }.joined(separator: "&")

        let canonicalRequest = [
            method.uppercased(),
            parts.path,
            Self.sortedRawQuery(parts.query),
            canonicalHeaders + "\n",
            signedHeaderNames,
            "UNSIGNED-PAYLOAD",
        ].joined(separator: "\n")
        let (stringToSign, signature) = signature(canonicalRequest: canonicalRequest, timestamp: timestamp)
        return (parts.string + "&X-Amz-Signature=" + signature, canonicalRequest, stringToSign)
    }

    // MARK: - Pieces

    /// Headers SigV4 clients never sign, because proxies may change them (botocore's SIGNED_HEADERS_BLACKLIST).
    static let unsignedHeaderNames: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    func credentialScope(_ timestamp: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    func canonicalPath(_ path: String) -> String {
        if service == "s3" { return path.isEmpty ? "/" : path }
        return AWSURI.encodePath(Self.removeDotSegments(path.isEmpty ? "/" : path))
    }

    func signature(canonicalRequest: String, timestamp: String) -> (stringToSign: String, signature: String) {
        let stringToSign = [
            "AWS4-HMAC-SHA256",
            timestamp,
            credentialScope(timestamp),
            SHA256.hash(data: Array(canonicalRequest.utf8)).hexEncoded,
        ].joined(separator: "\n")
        let dateKey = Self.hmac(Array("AWS4\(credentials.secretAccessKey)".utf8), String(timestamp.prefix(8)))
        let regionKey = Self.hmac(dateKey, region)
        let serviceKey = Self.hmac(regionKey, service)
        let signingKey = Self.hmac(serviceKey, "aws4_request")
        return (stringToSign, Self.hmac(signingKey, stringToSign).hexEncoded)
    }

    /// Lowercased names, sorted; repeated headers joined with commas in their order; values trimmed with inner whitespace runs collapsed.
    static func canonicalHeaders(_ headers: [(String, String)], parts: AWSURI.Parts) -> (canonical: String, signedNames: String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased().trimmingWhitespace()
            if unsignedHeaderNames.contains(lower) { continue }
            values[lower, default: []].append(value)
        }
        if values["host"] == nil { values["host"] = [parts.hostHeader] }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let canonical = names.map { name in
            name + ":" + values[name]!.map(trimAll).joined(separator: ",")
        }.joined(separator: "\n")
        return (canonical, names.joined(separator: ";"))
    }

    /// Python's `' '.join(value.split())`, which is what botocore does.
    static func trimAll(_ value: String) -> String {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            if scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value) {
                if !current.isEmpty {
                    words.append(String(current))
                    current = String.UnicodeScalarView()
                }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words.joined(separator: " ")
    }

    /// Names and values decoded, then encoded with nothing but unreserved characters left bare, sorted by name, then value.
    static func canonicalQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        return query.split(separator: "&", omittingEmptySubsequences: true)
            .map { piece -> (String, String) in
                let (name, value) = partition(piece)
                return (AWSURI.encode(AWSURI.decode(name)), AWSURI.encode(AWSURI.decode(value)))
            }
            .sorted(by: pairPrecedes)
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// A query that is already encoded, sorted by name then value (botocore's `_canonical_query_string_url`).
    static func sortedRawQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        return query.split(separator: "&", omittingEmptySubsequences: false)
            .map(partition)
            .sorted(by: pairPrecedes)
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    static func pairPrecedes(_ a: (String, String), _ b: (String, String)) -> Bool {
        if a.0 != b.0 { return a.0.utf8.lexicographicallyPrecedes(b.0.utf8) }
        return a.1.utf8.lexicographicallyPrecedes(b.1.utf8)
    }

    static func partition(_ piece: Substring) -> (String, String) {
        guard let equals = piece.firstIndex(of: "=") else { return (String(piece), "") }
        return (String(piece[..<equals]), String(piece[piece.index(after: equals)...]))
    }

    /// RFC 3986 section 5.2.4, and empty segments dropped as AWS services expect (botocore's `remove_dot_segments`).
    static func removeDotSegments(_ path: String) -> String {
        guard !path.isEmpty else { return "" }
        var output: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
            } else {
                output.append(segment)
            }
        }
        let first = path.hasPrefix("/") ? "/" : ""
        let last = path.hasSuffix("/") && !output.isEmpty ? "/" : ""
        return first + output.joined(separator: "/") + last
    }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, without a DateFormatter (days-from-civil arithmetic).
    public static func amzDate(_ date: Date) -> String {
        CivilTime(unixMillis: Int64(date.timeIntervalSince1970.rounded(.down)) * 1000).basicISO8601
    }
}
