import AWSWire
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import ShopSupport
import Testing

/// Retries against a fault-injecting server: throttling and 5xx are retried with backoff, and a write
/// is applied exactly once; everything else is answered at once with a typed, decoded error.
@Suite struct RetryTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDTEST", secretAccessKey: "secret", sessionToken: "session-token")
    static let fastRetry = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(1), maxDelay: .milliseconds(4))

    static func client(_ httpClient: HTTPClient, endpoint: String, retry: RetryPolicy = fastRetry, timeout: Duration = .seconds(5))
        -> AWSJSONClient
    {
        AWSJSONClient.dynamoDB(
            httpClient: httpClient, region: "us-east-1", credentials: credentials, endpoint: endpoint, retry: retry, timeout: timeout)
    }

    static func withHTTPClient<Value>(connectTimeout: Duration = .seconds(2), _ body: (HTTPClient) async throws -> Value) async throws
        -> Value
    {
        let httpClient = AWSSender.makeHTTPClient(connectTimeout: connectTimeout)
        do {
            let value = try await body(httpClient)
            try await httpClient.shutdown()
            return value
        } catch {
            try await httpClient.shutdown()
            throw error
        }
    }

    static let putItem = Array(#"{"TableName":"Products","Item":{"ProductID":{"S":"p-1"}}}"#.utf8)

    struct RetryableCase: Sendable, CustomTestStringConvertible {
        var fault: FaultServer.Fault
        var expectedType: String
        var testDescription: String { expectedType }
    }

    static let retryable: [RetryableCase] = [
        .init(fault: .aws("ThrottlingException"), expectedType: "ThrottlingException"),
        .init(fault: .aws("ProvisionedThroughputExceededException"), expectedType: "ProvisionedThroughputExceededException"),
        .init(fault: .aws("RequestLimitExceeded"), expectedType: "RequestLimitExceeded"),
        .init(fault: .aws("InternalServerError", status: 500, messageKey: "Message"), expectedType: "InternalServerError"),
        .init(fault: .error(status: 500, body: nil), expectedType: "500"),
        .init(fault: .error(status: 503, body: nil), expectedType: "503"),
    ]

    @Test(arguments: retryable)
    func retriesThenAppliesTheWriteOnce(_ retryable: RetryableCase) async throws {
        let server = FaultServer(faults: [retryable.fault, retryable.fault], credentials: Self.credentials)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                let answer = try await Self.client(http, endpoint: endpoint).call("PutItem", body: Self.putItem)
                #expect(answer == Array("{}".utf8))
            }
        }
        #expect(await server.attempts == 3)
        #expect(await server.appliedWrites == 1)
        let received = await server.received
        #expect(received.allSatisfy { $0.signatureValid }, "every attempt is signed afresh and verifies against the wire")
        #expect(received.allSatisfy { $0.body == Self.putItem })
        #expect(Set(received.compactMap { $0.headers.values("x-amz-date").first }).count >= 1)
    }

    @Test func mixedFaultsUseEveryAttempt() async throws {
        let faults: [FaultServer.Fault] = [
            .aws("ThrottlingException"), .aws("ProvisionedThroughputExceededException"), .error(status: 500, body: nil),
            .error(status: 503, body: nil),
        ]
        let server = FaultServer(faults: faults, credentials: Self.credentials)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                _ = try await Self.client(http, endpoint: endpoint).call("TransactWriteItems", body: Array("{}".utf8))
            }
        }
        #expect(await server.attempts == 5)
        #expect(await server.appliedWrites == 1)
    }

    @Test func givesUpAfterMaxAttemptsWithTheTypedError() async throws {
        let server = FaultServer(
            faults: Array(repeating: .aws("ProvisionedThroughputExceededException", message: "slow down"), count: 10),
            credentials: Self.credentials)
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2))
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                let error = await #expect(throws: AWSError.self) {
                    try await Self.client(http, endpoint: endpoint, retry: policy).call("PutItem", body: Self.putItem)
                }
                #expect(error?.type == "ProvisionedThroughputExceededException")
                #expect(error?.message == "slow down")
                #expect(error?.statusCode == 400)
                #expect(error?.isRetryable == true)
            }
        }
        #expect(await server.attempts == 3)
        #expect(await server.appliedWrites == 0)
    }

    struct FinalCase: Sendable, CustomTestStringConvertible {
        var type: String
        var messageKey: String
        var testDescription: String { "\(type) (\(messageKey))" }
    }

    @Test(arguments: [
        FinalCase(type: "ConditionalCheckFailedException", messageKey: "message"),
        FinalCase(type: "ConditionalCheckFailedException", messageKey: "Message"),
        FinalCase(type: "ValidationException", messageKey: "message"),
        FinalCase(type: "ValidationException", messageKey: "Message"),
        FinalCase(type: "ResourceNotFoundException", messageKey: "message"),
    ])
    func nonRetryableErrorsAreNotRetried(_ final: FinalCase) async throws {
        let server = FaultServer(
            faults: [.aws(final.type, message: "why \(final.type)", messageKey: final.messageKey)], credentials: Self.credentials)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                let error = await #expect(throws: AWSError.self) {
                    try await Self.client(http, endpoint: endpoint).call("PutItem", body: Self.putItem)
                }
                #expect(error?.type == final.type)
                #expect(error?.message == "why \(final.type)")
                #expect(error?.statusCode == 400)
                #expect(error?.isRetryable == false)
                #expect(error?.cancellationReasons == nil)
                #expect(error.map { String(decoding: $0.body, as: UTF8.self).contains(final.type) } == true)
            }
        }
        #expect(await server.attempts == 1)
        #expect(await server.appliedWrites == 0)
    }

    static let cancelledBody = """
        {"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",\
        "Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]",\
        "CancellationReasons":[{"Code":"None"},\
        {"Code":"ConditionalCheckFailed","Message":"The conditional request failed","Item":{"ProductID":{"S":"p-2"},"Quantity":{"N":"1"},"Tags":{"L":[{"S":"a"}]}}},\
        {"Code":"None","Message":null}]}
        """

    @Test func transactionCanceledDecodesCancellationReasons() async throws {
        let server = FaultServer(faults: [.error(status: 400, body: Self.cancelledBody)], credentials: Self.credentials)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                let error = await #expect(throws: AWSError.self) {
                    try await Self.client(http, endpoint: endpoint).call("TransactWriteItems", body: Array("{}".utf8))
                }
                #expect(error?.type == "TransactionCanceledException")
                #expect(error?.isRetryable == false)
                #expect(error?.message.hasPrefix("Transaction cancelled") == true)
                let reasons = error?.cancellationReasons ?? []
                #expect(reasons.map(\.code) == ["None", "ConditionalCheckFailed", "None"])
                #expect(reasons[1].message == "The conditional request failed")
                #expect(reasons[0].item == nil)
                #expect(reasons[1].item?["Quantity"] == .object(["N": .string("1")]))
                // The item as JSON decodes into a typed attribute-value map.
                struct Attribute: Decodable, Equatable {
                    var S: String?
                    var N: String?
                    var L: [Attribute]?
                }
                let item = try reasons[1].itemJSON.map { try JSONDecoder().decode([String: Attribute].self, from: Data($0)) }
                #expect(item?["ProductID"] == Attribute(S: "p-2"))
                #expect(item?["Tags"]?.L == [Attribute(S: "a")])
            }
        }
        #expect(await server.attempts == 1)
        #expect(await server.appliedWrites == 0)
    }

    struct Input: Encodable {
        var TableName: String
        var Key: [String: [String: String]]
    }
    struct Output: Decodable { var Item: [String: [String: String]]? }

    @Test func typedCallSendsTheJSONProtocolHeaders() async throws {
        let server = FaultServer(faults: [], credentials: Self.credentials, successBody: #"{"Item":{"ProductID":{"S":"p/1"}}}"#)
        let output = try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                try await Self.client(http, endpoint: endpoint).call(
                    "GetItem", Input(TableName: "Products", Key: ["ProductID": ["S": "p/1"]]), as: Output.self)
            }
        }
        #expect(output.Item?["ProductID"]?["S"] == "p/1")
        let request = try #require(await server.received.first)
        #expect(request.target == "DynamoDB_20120810.GetItem")
        #expect(request.contentType == "application/x-amz-json-1.0")
        #expect(request.signatureValid)
        #expect(request.headers.values("x-amz-security-token") == ["session-token"])
        let authorization = request.headers.values("authorization").first ?? ""
        #expect(authorization.contains("Credential=AKIDTEST/"))
        #expect(
            authorization.contains(
                "/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "))
        #expect(String(decoding: request.body, as: UTF8.self).contains(#""Key":{"ProductID":{"S":"p/1"}}"#))
    }

    @Test func json11ForCognito() async throws {
        let server = FaultServer(
            faults: [.error(status: 400, body: #"{"__type":"UsernameExistsException","message":"User already exists"}"#)],
            credentials: Self.credentials, service: "cognito-idp")
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                let client = AWSJSONClient.cognitoIdentityProvider(
                    httpClient: http, region: "us-east-1", credentials: Self.credentials, endpoint: endpoint, retry: Self.fastRetry)
                let error = await #expect(throws: AWSError.self) {
                    try await client.call("SignUp", body: Array("{}".utf8))
                }
                #expect(error?.type == "UsernameExistsException")
                #expect(error?.message == "User already exists")
            }
        }
        let request = try #require(await server.received.first)
        #expect(request.target == "AWSCognitoIdentityProviderService.SignUp")
        #expect(request.contentType == "application/x-amz-json-1.1")
        #expect(request.signatureValid)
        #expect(await server.attempts == 1)
    }

    @Test func requestTimeoutIsRetried() async throws {
        // The first answer is held back far longer than the client waits; the retry gets the whole
        // timeout again, generous enough that a loaded CI machine still answers it in time.
        let server = FaultServer(faults: [.slow(.seconds(6))], credentials: Self.credentials)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                _ = try await Self.client(http, endpoint: endpoint, timeout: .seconds(2)).call("PutItem", body: Self.putItem)
            }
        }
        #expect(await server.attempts == 2)
        #expect(await server.appliedWrites == 1)
    }

    @Test func connectionRefusedIsARetryableTransportError() async throws {
        // A port that was just free: bind, note it, close.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2))
        // The HTTP client keeps retrying a refused connection until its connect timeout; keep that short here.
        try await Self.withHTTPClient(connectTimeout: .milliseconds(200)) { http in
            let error = await #expect(throws: AWSError.self) {
                try await Self.client(http, endpoint: "http://127.0.0.1:\(port)", retry: policy).call("PutItem", body: Self.putItem)
            }
            #expect(error?.code == .connectionFailed)
            #expect(error?.statusCode == 0)
            #expect(error?.isRetryable == true)
            #expect(error?.certainlyNotApplied == true, "a refused connection never carried the request")
        }
    }

    // MARK: writes that are not safe to repeat

    @Test func unsafeWriteIsNotRepeatedAfterA5xx() async throws {
        let server = FaultServer(faults: [.aws("InternalServerError", status: 500, messageKey: "Message")], credentials: Self.credentials)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                let error = await #expect(throws: AWSError.self) {
                    try await Self.client(http, endpoint: endpoint).call("SignUp", body: Self.putItem, safety: .notAfterSend)
                }
                #expect(error?.code == .internalServerError)
                #expect(error?.outcomeUnknown == true, "the 500 may hide an applied write, so the caller must not guess")
            }
        }
        #expect(await server.attempts == 1)
    }

    @Test func unsafeWriteIsNotRepeatedAfterALostAnswer() async throws {
        let server = FaultServer(faults: [.slow(.seconds(4))], credentials: Self.credentials)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                let error = await #expect(throws: AWSError.self) {
                    try await Self.client(http, endpoint: endpoint, timeout: .seconds(1)).call(
                        "SignUp", body: Self.putItem, safety: .notAfterSend)
                }
                #expect(error?.code == .transportError)
                #expect(error?.outcomeUnknown == true)
            }
        }
        #expect(await server.attempts == 1)
    }

    @Test func unsafeWriteIsRepeatedAfterThrottling() async throws {
        let server = FaultServer(faults: [.aws("ThrottlingException"), .aws("TooManyRequestsException")], credentials: Self.credentials)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                _ = try await Self.client(http, endpoint: endpoint).call("SignUp", body: Self.putItem, safety: .notAfterSend)
            }
        }
        #expect(await server.attempts == 3, "a throttled request was refused before it was acted on, so it is safe to send again")
    }

    @Test func signingUsesTheInjectedClock() async throws {
        let server = FaultServer(faults: [], credentials: Self.credentials)
        let fixed = Date(timeIntervalSince1970: 1_780_000_000)
        try await FaultServer.run(server) { endpoint in
            try await Self.withHTTPClient { http in
                let client = AWSJSONClient.dynamoDB(
                    httpClient: http, region: "us-east-1", credentials: Self.credentials, endpoint: endpoint, clock: WallClock { fixed })
                _ = try await client.call("GetItem", body: Self.putItem)
            }
        }
        let received = await server.received
        #expect(received.first?.headers.values("x-amz-date").first == SigV4Signer.amzDate(fixed))
        #expect(received.first?.signatureValid == true)
    }
}

@Suite struct ErrorDecodingTests {
    @Test func typeFromHeaderWhenBodyHasNone() {
        let error = AWSError.decode(
            statusCode: 400,
            headers: [("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/")],
            body: Array(#"{"message":"bad"}"#.utf8))
        #expect(error.type == "ValidationException")
        #expect(error.message == "bad")
    }

    @Test func bareTypeAndCapitalMessage() {
        let error = AWSError.decode(
            statusCode: 400, headers: [],
            body: Array(#"{"__type":"ResourceNotFoundException","Message":"Requested resource not found"}"#.utf8))
        #expect(error.type == "ResourceNotFoundException")
        #expect(error.message == "Requested resource not found")
        #expect(!error.isRetryable)
    }

    @Test func emptyOrNonJSONBodyFallsBackToTheStatus() {
        let empty = AWSError.decode(statusCode: 503, headers: [], body: [])
        #expect(empty.type == "503")
        #expect(empty.message == "Service Unavailable")
        #expect(empty.isRetryable)
        let html = AWSError.decode(statusCode: 502, headers: [], body: Array("<html>bad gateway</html>".utf8))
        #expect(html.type == "502")
        #expect(html.isRetryable)
        let forbidden = AWSError.decode(statusCode: 403, headers: [], body: [])
        #expect(!forbidden.isRetryable)
    }

    @Test func cancellationReasonsOnlyForTransactionCanceled() {
        let other = AWSError.decode(
            statusCode: 400, headers: [], body: Array(#"{"__type":"x#ValidationException","message":"m","CancellationReasons":[]}"#.utf8))
        #expect(other.cancellationReasons == nil)
        let noReasons = AWSError.decode(
            statusCode: 400, headers: [], body: Array(#"{"__type":"x#TransactionCanceledException","message":"m"}"#.utf8))
        #expect(noReasons.cancellationReasons == [])
    }
}

@Suite struct RetryPolicyTests {
    @Test func defaultPolicy() {
        #expect(RetryPolicy.default.maxAttempts == 5)
        #expect(RetryPolicy.default.baseDelay == .milliseconds(25))
        #expect(RetryPolicy.default.maxDelay == .seconds(2))
    }

    @Test func exponentialCeilingIsCapped() {
        let policy = RetryPolicy.default
        #expect(policy.delayCeiling(beforeRetry: 1) == .milliseconds(25))
        #expect(policy.delayCeiling(beforeRetry: 2) == .milliseconds(50))
        #expect(policy.delayCeiling(beforeRetry: 4) == .milliseconds(200))
        #expect(policy.delayCeiling(beforeRetry: 7) == .milliseconds(1600))
        #expect(policy.delayCeiling(beforeRetry: 8) == .seconds(2))
        #expect(policy.delayCeiling(beforeRetry: 1000) == .seconds(2))
    }

    @Test func fullJitterSpreadsOverTheWholeRange() {
        var generator = SystemRandomNumberGenerator()
        let policy = RetryPolicy.default
        let delays = (0..<2000).map { _ in policy.delay(beforeRetry: 3, using: &generator) }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= .milliseconds(100) })
        #expect(delays.contains { $0 < .milliseconds(10) }, "full jitter reaches down to zero")
        #expect(delays.contains { $0 > .milliseconds(90) }, "and up to the ceiling")
    }
}
