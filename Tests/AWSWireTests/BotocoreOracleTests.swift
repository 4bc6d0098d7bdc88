import AWSWire
import Foundation
import Testing

/// Presigned URLs and signed headers compared byte for byte with what the pinned botocore produces
/// for the same inputs (scripts/presign_oracle.py, written by scripts/aws-vectors).
@Suite struct BotocoreOracleTests {
    struct Oracle: Decodable {
        var botocore: String
        var cases: [PresignCase]
        var headerCases: [HeaderCase]
    }

    struct PresignCase: Decodable {
        var name: String
        var method: String
        var endpoint: String
        var bucket: String
        var key: String?
        var query: String
        var url: String
        var headers: [[String]]
        var expires: Int
        var region: String
        var service: String
        var accessKeyId: String
        var secretAccessKey: String
        var sessionToken: String?
        var epochSeconds: Int
        var expectedURL: String
    }

    struct HeaderCase: Decodable {
        var name: String
        var method: String
        var url: String
        var service: String
        var headers: [[String]]
        var body: String
        var region: String
        var accessKeyId: String
        var secretAccessKey: String
        var sessionToken: String?
        var epochSeconds: Int
        var expectedHeaders: [[String]]
    }

    static func load() throws -> Oracle? {
        guard let path = referencePath("SHOP_TEST_PRESIGN_ORACLE") else { return nil }
        let oracle = try JSONDecoder().decode(Oracle.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let pinned = try readText(
            #filePath.replacingOccurrences(of: "Tests/AWSWireTests/BotocoreOracleTests.swift", with: "scripts/requirements-test.txt"))
        #expect(
            pinned.contains("botocore==\(oracle.botocore)"),
            "the oracle was made by botocore \(oracle.botocore), not the pinned version: rerun scripts/aws-vectors")
        return oracle
    }

    static func pairs(_ raw: [[String]]) -> [(String, String)] {
        raw.map { ($0[0], $0[1]) }
    }

    @Test func presignedURLsEqualBotocores() throws {
        guard let oracle = try Self.load() else { return }
        #expect(oracle.cases.count >= 10)
        var equal = 0
        for c in oracle.cases {
            let signer = SigV4Signer(
                credentials: AWSCredentials(accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken),
                region: c.region, service: c.service)
            if let key = c.key {
                // Our key encoding builds the same URL botocore's S3 serializer does.
                let built = c.endpoint + "/" + c.bucket + "/" + AWSURI.encodePath(key) + (c.query.isEmpty ? "" : "?" + c.query)
                #expect(built == c.url, "\(c.name): object URL")
            }
            let url = signer.presignedURL(
                method: c.method, url: c.url, headers: Self.pairs(c.headers), expires: c.expires,
                date: Date(timeIntervalSince1970: TimeInterval(c.epochSeconds)))
            #expect(url == c.expectedURL, "\(c.name)")
            if url == c.expectedURL { equal += 1 }
        }
        print("presign oracle (botocore \(oracle.botocore) S3SigV4QueryAuth): \(equal)/\(oracle.cases.count) URLs byte-for-byte equal")
    }

    @Test func signedHeadersEqualBotocores() throws {
        guard let oracle = try Self.load() else { return }
        #expect(oracle.headerCases.count >= 5)
        var equal = 0
        for c in oracle.headerCases {
            let signer = SigV4Signer(
                credentials: AWSCredentials(accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken),
                region: c.region, service: c.service)
            let added = signer.signedHeaders(
                method: c.method, url: c.url, headers: Self.pairs(c.headers), body: Array(c.body.utf8),
                date: Date(timeIntervalSince1970: TimeInterval(c.epochSeconds)), includeContentSHA256: c.service == "s3")
            let got = added.map { [$0.0.lowercased(), $0.1] }.sorted { $0[0] < $1[0] }
            let expected = c.expectedHeaders.map { [$0[0].lowercased(), $0[1]] }.sorted { $0[0] < $1[0] }
            #expect(got == expected, "\(c.name)")
            if got == expected { equal += 1 }
        }
        print("header oracle (botocore \(oracle.botocore) SigV4Auth / S3SigV4Auth): \(equal)/\(oracle.headerCases.count) equal")
    }
}
