import AWSWire
import AsyncHTTPClient
import Foundation
import Logging
import TestServices
import Testing

@testable import ShopMail

/// SES v2 SendEmail with raw MIME, on moto (started by ./scripts/test): moto keeps what it was sent, readable at
/// /moto-api/data.json (`ses.RawMessage`: id, source, destinations, raw_data).
@Suite("SESMailSender on moto")
struct SESMailSenderTests {
    static func client(retry: RetryPolicy = .default, timeout: Duration = .seconds(10)) -> AWSSender {
        SESMailSender.client(
            httpClient: HTTPClient.shared, region: "us-east-1",
            credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing"),
            retry: retry, timeout: timeout)
    }

    /// SES v2 CreateEmailIdentity: on moto the identity is verified at once.
    static func verify(_ identity: String, endpoint: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["EmailIdentity": identity])
        _ = try await client().send(
            AWSRequest(
                method: .POST, url: endpoint + "/v2/email/identities",
                headers: [("Host", AWSURI.Parts(endpoint).hostHeader), ("Content-Type", "application/json")], body: [UInt8](body)),
            safety: .idempotent, operation: "CreateEmailIdentity")
    }

    struct Stored: Decodable {
        var id: String
        var source: String
        var destinations: [String]
        var raw_data: String
    }

    static func stored(endpoint: String) async throws -> [Stored] {
        struct DataJSON: Decodable {
            struct SES: Decodable { var RawMessage: [Stored]? }
            var ses: SES?
        }
        // moto dumps its whole state (every test's tables too): slow on a moto the suite has filled.
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: endpoint + "/moto-api/data.json"), timeout: .seconds(90))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return try JSONDecoder().decode(DataJSON.self, from: Data(body.readableBytesView)).ses?.RawMessage ?? []
    }

    @Test func sendsTheRawMessageFromAVerifiedIdentity() async throws {
        let endpoint = try TestService.moto.endpoint
        let from = uniqueToken("shop") + "@example.com"
        try await Self.verify(from, endpoint: endpoint)
        let recipient = uniqueToken("ses") + "@example.org"
        let message = Fixtures.message(
            subject: "Order 3c4d5e6f has shipped — Zoë", text: "Tracking: RM1\n.dot\n", to: recipient,
            messageId: uniqueToken("ses") + "@serverlessshop",
            from: "Shop <\(from)>")
        let sender = SESMailSender(client: Self.client(), endpoint: endpoint, logger: Logger(label: "ses-test"))
        try await sender.send(message)

        let found = try await Self.stored(endpoint: endpoint).filter { $0.raw_data.contains(message.messageId) }
        try #require(found.count == 1)
        #expect(found[0].source == "Shop <\(from)>")
        #expect(found[0].destinations.contains(recipient))
        #expect(Array(found[0].raw_data.utf8) == message.rfc5322(), "SES got the message's own bytes")
        let view = try RecipientView.parse(Array(found[0].raw_data.utf8))
        #expect(view.subject == "Order 3c4d5e6f has shipped — Zoë")
        #expect(view.text == "Tracking: RM1\n.dot\n")
        #expect(view.to == recipient)
    }

    @Test func anUnverifiedSenderIsPermanent() async throws {
        let endpoint = try TestService.moto.endpoint
        let from = uniqueToken("unverified") + "@example.com"
        let message = Fixtures.message(to: "a@example.org", messageId: uniqueToken("ses") + "@serverlessshop", from: from)
        let sender = SESMailSender(client: Self.client(), endpoint: endpoint, logger: Logger(label: "ses-test"))
        let error = await #expect(throws: MailError.self) { try await sender.send(message) }
        guard case .permanent(let text) = error else {
            Issue.record("expected a permanent error, got \(String(describing: error))")
            return
        }
        #expect(text.contains("MessageRejected") && text.contains("Did not have authority to send from email \(from)"), "\(text)")
        #expect(try await Self.stored(endpoint: endpoint).filter { $0.raw_data.contains(message.messageId) }.isEmpty)
    }

    @Test func anUnreachableEndpointIsTemporary() async throws {
        let port = try SMTPMailSenderTests.closedPort()
        // One attempt of 2 s: AsyncHTTPClient keeps trying a refused connection until the attempt's deadline.
        let sender = SESMailSender(
            client: Self.client(retry: .none, timeout: .seconds(2)), endpoint: "http://127.0.0.1:\(port)", logger: Logger(label: "ses-test")
        )
        let error = await #expect(throws: MailError.self) { try await sender.send(Fixtures.message()) }
        guard case .temporary = error else {
            Issue.record("expected a temporary error, got \(String(describing: error))")
            return
        }
    }

    @Test func errorClassification() {
        #expect(!SESMailSender.classify(AWSError(type: "MessageRejected", message: "no", statusCode: 400)).isTemporary)
        #expect(!SESMailSender.classify(AWSError(type: "AccountSuspendedException", message: "no", statusCode: 400)).isTemporary)
        #expect(SESMailSender.classify(AWSError(type: "TooManyRequestsException", message: "slow", statusCode: 429)).isTemporary)
        #expect(SESMailSender.classify(AWSError(type: "InternalFailure", message: "oops", statusCode: 500)).isTemporary)
        #expect(SESMailSender.classify(AWSError(type: "TransportError", message: "reset", statusCode: 0)).isTemporary)
    }
}
