import AWSWire
import Crypto
import Foundation
import Testing

@Suite struct CredentialsTests {
    @Test func fromEnvironmentWithSessionToken() throws {
        let credentials = try AWSCredentials.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token/+=",
        ])
        #expect(credentials == AWSCredentials(accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "token/+="))
    }

    @Test func fromEnvironmentWithoutSessionToken() throws {
        let plain = try AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret"])
        #expect(plain.sessionToken == nil)
        let empty = try AWSCredentials.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
        ])
        #expect(empty.sessionToken == nil)
    }

    @Test(arguments: [
        (["AWS_SECRET_ACCESS_KEY": "secret"], "AWS_ACCESS_KEY_ID"),
        (["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "secret"], "AWS_ACCESS_KEY_ID"),
        (["AWS_ACCESS_KEY_ID": "AKID"], "AWS_SECRET_ACCESS_KEY"),
    ])
    func missingVariableIsNamed(environment: [String: String], missing: String) {
        #expect {
            try AWSCredentials.fromEnvironment(environment)
        } throws: { error in
            guard let error = error as? AWSConfigurationError else { return false }
            return error.description.hasPrefix(missing + " is not set")
        }
    }

    @Test func descriptionHidesSecrets() {
        let credentials = AWSCredentials(accessKeyId: "AKID", secretAccessKey: "very-secret", sessionToken: "session-secret")
        let text = "\(credentials)"
        #expect(text.contains("AKID"))
        #expect(!text.contains("very-secret"))
        #expect(!text.contains("session-secret"))
    }

    @Test func endpoints() {
        #expect(AWSEndpoint.resolve(service: "dynamodb", region: "us-east-1") == "https://dynamodb.us-east-1.amazonaws.com")
        #expect(
            AWSEndpoint.resolve(service: "cognito-idp", region: "eu-west-1", override: nil) == "https://cognito-idp.eu-west-1.amazonaws.com"
        )
        #expect(AWSEndpoint.resolve(service: "s3", region: "cn-north-1") == "https://s3.cn-north-1.amazonaws.com.cn")
        #expect(
            AWSEndpoint.resolve(service: "dynamodb", region: "us-east-1", override: "http://127.0.0.1:5000/") == "http://127.0.0.1:5000")
        #expect(AWSEndpoint.resolve(service: "dynamodb", region: "us-east-1", override: "") == "https://dynamodb.us-east-1.amazonaws.com")
    }
}

@Suite struct SigningTests {
    static let date = Date(timeIntervalSince1970: 1_715_934_645)  // 2024-05-17T08:30:45Z
    static let headers = [("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "DynamoDB_20120810.GetItem")]

    @Test func sessionTokenIsSentAndSigned() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "ASIA", secretAccessKey: "s", sessionToken: "the-token"), region: "us-east-1",
            service: "dynamodb")
        let added = signer.signedHeaders(
            method: "POST", url: "https://dynamodb.us-east-1.amazonaws.com/", headers: Self.headers, body: Array("{}".utf8), date: Self.date
        )
        #expect(added.values("X-Amz-Security-Token") == ["the-token"])
        #expect(added.values("X-Amz-Date") == ["20240517T083045Z"])
        let authorization = added.values("Authorization").first ?? ""
        #expect(
            authorization.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=ASIA/20240517/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature="
            ))
        #expect(added.values("x-amz-content-sha256").isEmpty)
    }

    @Test func noTokenNoTokenHeader() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "s"), region: "us-east-1", service: "dynamodb")
        let added = signer.signedHeaders(
            method: "POST", url: "https://dynamodb.us-east-1.amazonaws.com/", headers: Self.headers, body: [], date: Self.date)
        #expect(added.values("X-Amz-Security-Token").isEmpty)
        #expect(added.map { $0.0 } == ["X-Amz-Date", "Authorization"])
    }

    @Test func contentSHA256ForS3() {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "s"), region: "us-east-1", service: "s3")
        let body = Array("hello".utf8)
        let result = signer.sign(
            method: "PUT", url: "https://s3.us-east-1.amazonaws.com/b/k", headers: [], body: body, date: Self.date,
            includeContentSHA256: true)
        let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        #expect(result.headers.values("x-amz-content-sha256") == [digest])
        #expect(result.authorization.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"))
        #expect(result.canonicalRequest.hasSuffix("\n" + digest))
    }

    @Test func resigningReplacesOldAuthHeaders() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "s", sessionToken: "new"), region: "us-east-1",
            service: "dynamodb")
        let first = signer.sign(method: "POST", url: "https://h/", headers: Self.headers, body: [], date: Self.date)
        let stale = Self.headers + [("Authorization", "old"), ("X-Amz-Date", "19990101T000000Z"), ("X-Amz-Security-Token", "old")]
        let second = signer.sign(method: "POST", url: "https://h/", headers: stale, body: [], date: Self.date)
        #expect(first.authorization == second.authorization)
    }

    @Test func amzDateMatchesAFormatter() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var generator = SystemRandomNumberGenerator()
        let samples =
            [0, 951_782_400, 1_440_938_160, 4_107_542_399, -86_401]
            + (0..<500).map { _ in Int.random(in: -2_000_000_000...4_000_000_000, using: &generator) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds) + 0.75)
            #expect(SigV4Signer.amzDate(date) == formatter.string(from: date), "\(seconds)")
        }
    }
}
