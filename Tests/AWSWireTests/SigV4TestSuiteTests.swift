import AWSWire
import Foundation
import Testing

/// AWS's SigV4 test suite (`aws4_testsuite`), run the way botocore's own tests/unit/auth/test_sigv4.py runs it:
/// the same credentials, date, region and service, the session token taken from the expected canonical
/// request, the raw `.req` turned into a request the way that test does, and the same cases skipped.
@Suite struct SigV4TestSuiteTests {
    static let accessKey = "AKIDEXAMPLE"
    static let secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let region = "us-east-1"
    static let service = "service"

    /// botocore's TESTS_TO_IGNORE, with its reasons. The test checks this list against the copy of
    /// botocore's test file that scripts/aws-vectors keeps beside the suite.
    static let skipped: [(name: String, reason: String)] = [
        (
            "normalize-path/get-space",
            "bad request-line syntax (a raw space in the path): Python's HTTP parser, which botocore's runner uses to read the .req, rejects it"
        ),
        (
            "get-vanilla-query-order-key-case",
            "repeated query keys: botocore's runner keeps query parameters in a dict, and the SDKs do not support repeated keys"
        ),
        (
            "get-vanilla-query-order-key",
            "repeated query keys: botocore's runner keeps query parameters in a dict, and the SDKs do not support repeated keys"
        ),
        (
            "get-vanilla-query-order-value",
            "repeated query keys: botocore's runner keeps query parameters in a dict, and the SDKs do not support repeated keys"
        ),
    ]

    /// The suite's own .sreq for this case carries a signature that disagrees with its .authz
    /// (5fa00fa..., get-vanilla's signature, pasted in); the .authz is the one consistent with the .creq and .sts.
    static let sreqAuthorizationKnownWrong: Set<String> = ["get-vanilla-with-session-token"]

    @Test func awsSigV4TestSuite() throws {
        guard let suite = referencePath("SHOP_TEST_AWS4_TESTSUITE") else { return }
        let cases = try Self.caseNames(in: suite)
        #expect(cases.count >= 30, "expected the whole aws4_testsuite under \(suite), found \(cases.count) cases")

        let skippedNames = Set(Self.skipped.map(\.name))
        for name in skippedNames {
            #expect(cases.contains(name), "skipped case \(name) is not in the suite any more: update the skip list")
        }
        var passed = 0
        var failed: [String] = []
        let toRun = cases.filter { !skippedNames.contains($0) }
        for name in toRun {
            let problems = try Self.run(caseNamed: name, in: suite)
            if problems.isEmpty {
                passed += 1
            } else {
                failed.append(name)
                for problem in problems { Issue.record("\(name): \(problem)") }
            }
        }
        print(
            "aws4_testsuite: \(passed)/\(toRun.count) passed, \(failed.count) failed, \(Self.skipped.count) skipped as botocore skips them (\(cases.count) cases in all)"
        )
        for (name, reason) in Self.skipped { print("  skipped \(name): \(reason)") }
        #expect(failed.isEmpty, "failed cases: \(failed)")
        #expect(passed == cases.count - Self.skipped.count)
    }

    /// Keeps our skip list equal to botocore's TESTS_TO_IGNORE for the pinned version.
    @Test func skipListIsBotocores() throws {
        guard let suite = referencePath("SHOP_TEST_AWS4_TESTSUITE") else { return }
        let source = try readText(suite + "/botocore_test_sigv4.py.txt")
        guard let start = source.range(of: "TESTS_TO_IGNORE = ["), let end = source[start.upperBound...].firstIndex(of: "]") else {
            Issue.record("botocore's test_sigv4.py has no TESTS_TO_IGNORE list any more")
            return
        }
        let listed = source[start.upperBound..<end].split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("'") || $0.hasPrefix("\"") }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\",")) }
        #expect(Set(listed) == Set(Self.skipped.map(\.name)))
        #expect(listed.count == Self.skipped.count)
    }

    // MARK: - Running one case

    static func caseNames(in suite: String) throws -> [String] {
        let root = URL(fileURLWithPath: suite)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        var names: [String] = []
        for case let url as URL in walker where url.pathExtension == "req" {
            let directory = url.deletingLastPathComponent().standardizedFileURL.path
            let base = root.standardizedFileURL.path
            names.append(String(directory.dropFirst(base.count + 1)))
        }
        return names.sorted()
    }

    /// Returns what did not match; empty when the case passes.
    static func run(caseNamed name: String, in suite: String) throws -> [String] {
        let base = suite + "/" + name + "/" + (name.split(separator: "/").last.map(String.init) ?? name)
        let rawRequest = try Data(contentsOf: URL(fileURLWithPath: base + ".req"))
        let expectedCanonical = try readText(base + ".creq").replacingOccurrences(of: "\r", with: "")
        let expectedStringToSign = try readText(base + ".sts").replacingOccurrences(of: "\r", with: "")
        let expectedAuthorization = try readText(base + ".authz").replacingOccurrences(of: "\r", with: "")
        let signedRequest = try Data(contentsOf: URL(fileURLWithPath: base + ".sreq"))

        guard let request = RawRequest(Array(rawRequest)) else { return ["cannot parse the .req"] }
        // botocore's runner: the token is whatever the expected canonical request signs.
        let token = expectedCanonical.split(separator: "\n", omittingEmptySubsequences: false)
            .first { $0.hasPrefix("x-amz-security-token:") }
            .map { String($0.dropFirst("x-amz-security-token:".count)) }
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: accessKey, secretAccessKey: secretKey, sessionToken: token), region: region,
            service: service)
        let result = signer.sign(method: request.method, url: request.botocoreURL, headers: request.headers, body: request.body, date: date)

        var problems: [String] = []
        if result.canonicalRequest != expectedCanonical {
            problems.append(
                "canonical request\n  got:      \(result.canonicalRequest.debugDescription)\n  expected: \(expectedCanonical.debugDescription)"
            )
        }
        if result.stringToSign != expectedStringToSign {
            problems.append(
                "string to sign\n  got:      \(result.stringToSign.debugDescription)\n  expected: \(expectedStringToSign.debugDescription)")
        }
        if result.authorization != expectedAuthorization {
            problems.append("authorization\n  got:      \(result.authorization)\n  expected: \(expectedAuthorization)")
        }
        // The signed request: same request line and body, and every header we add present with our value.
        guard let signed = RawRequest(Array(signedRequest)) else { return problems + ["cannot parse the .sreq"] }
        if signed.method != request.method || signed.target != request.target { problems.append(".sreq request line differs") }
        if signed.body != request.body { problems.append(".sreq body differs") }
        for (header, value) in result.headers {
            let present = signed.headers.values(header)
            if header == "Authorization" {
                if sreqAuthorizationKnownWrong.contains(name) {
                    if present == [value] {
                        problems.append("the .sreq's Authorization is now right: drop \(name) from sreqAuthorizationKnownWrong")
                    }
                    continue
                }
            }
            if present.map(RawRequest.trimmed) != [value] {
                problems.append(".sreq header \(header): got \(value), .sreq has \(present)")
            }
        }
        return problems
    }
}

/// A raw HTTP/1.1 request read the way botocore's runner reads it (Python's BaseHTTPRequestHandler):
/// request line, headers with folded continuation lines, then the body.
struct RawRequest {
    var method: String
    var target: String
    var headers: [(String, String)]
    var body: [UInt8]

    init?(_ bytes: [UInt8]) {
        var lines: [[UInt8]] = []
        var index = 0
        var bodyStart = bytes.count
        while index < bytes.count {
            let end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            var line = Array(bytes[index..<end])
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            index = min(end + 1, bytes.count)
            if line.isEmpty && !lines.isEmpty {
                bodyStart = index
                break
            }
            lines.append(line)
        }
        guard let requestLine = lines.first else { return nil }
        let words = String(decoding: requestLine, as: UTF8.self).split(separator: " ")
        guard words.count == 3 else { return nil }  // Python answers 400 "Bad request syntax"
        method = String(words[0])
        target = String(words[1])
        headers = []
        for raw in lines.dropFirst() {
            let line = String(decoding: raw, as: UTF8.self)
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                guard !headers.isEmpty else { return nil }
                headers[headers.count - 1].1 += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
                headers.append((String(line[..<colon]), String(value)))
            } else {
                return nil
            }
        }
        body = Array(bytes[bodyStart...])
    }

    /// The URL as botocore's runner builds it: https://<Host><path>, with the query parsed by
    /// `dict(parse_qsl(query))` (blank values dropped, a repeated key keeps its last value) and passed as params.
    var botocoreURL: String {
        let host = headers.values("host").first ?? ""
        guard let mark = target.firstIndex(of: "?") else { return "https://\(host)\(target)" }
        let path = String(target[..<mark])
        var order: [String] = []
        var params: [String: String] = [:]
        for piece in target[target.index(after: mark)...].split(separator: "&") {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let value = String(piece[piece.index(after: equals)...])
            guard !value.isEmpty else { continue }
            let key = AWSURI.decode(String(piece[..<equals]), plusAsSpace: true)
            if params[key] == nil { order.append(key) }
            params[key] = AWSURI.decode(value, plusAsSpace: true)
        }
        if order.isEmpty { return "https://\(host)\(path)" }
        return "https://\(host)\(path)?" + order.map { AWSURI.encode($0) + "=" + AWSURI.encode(params[$0]!) }.joined(separator: "&")
    }

    static func trimmed(_ value: String) -> String {
        value.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
