import AWSWire
import AsyncHTTPClient
import Logging
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `SHOP_MAIL=ses`: SES v2 `SendEmail` (`POST /v2/email/outbound-emails`) with the message's own RFC 5322 bytes as
/// raw content, signed by `client` (whose signing service must be `ses`; `SESMailSender.client(…)` makes one).
/// The request is not repeated once it may have reached SES (a lost answer is a `.temporary` failure for the
/// caller's own retry, with the same Message-ID). Throttling, 5xx and transport failures are `.temporary`; SES's
/// other refusals (an unverified sender, a rejected message, a suspended account) are `.permanent`.
public struct SESMailSender: MailSender {
    public let client: AWSSender
    public let endpoint: String
    let logger: Logger
    let url: String
    let hostHeader: String

    /// `endpoint`: `https://email.<region>.amazonaws.com`, or a test server's URL.
    public init(client: AWSSender, endpoint: String, logger: Logger) {
        self.client = client
        self.endpoint = endpoint
        self.logger = logger
        var base = endpoint
        while base.hasSuffix("/") { base.removeLast() }
        self.url = base + "/v2/email/outbound-emails"
        self.hostHeader = AWSURI.Parts(endpoint).hostHeader
    }

    /// SES's endpoint for `region`.
    public static func endpoint(region: String) -> String { "https://email.\(region).amazonaws.com" }

    struct Request: Encodable {
        struct DestinationField: Encodable { var ToAddresses: [String] }
        struct RawField: Encodable { var Data: String }
        struct ContentField: Encodable { var Raw: RawField }
        var FromEmailAddress: String
        var Destination: DestinationField
        var Content: ContentField
    }

    struct Response: Decodable { var MessageId: String? }

    public func send(_ message: MailMessage) async throws(MailError) {
        guard MailMessage.address(of: message.from) != nil else {
            throw .permanent("the sender address \(message.from) is not an email address")
        }
        guard let to = MailMessage.address(of: message.to) else {
            throw .permanent("the recipient address \(message.to) is not an email address")
        }
        let body: [UInt8]
        do {
            // The sender as the From header writes it: a display name that is not ASCII as encoded words, as SES wants.
            let encoder = JSONEncoder()
            encoder.outputFormatting = .withoutEscapingSlashes
            let request = Request(
                FromEmailAddress: MailHeader.mailbox(message.from), Destination: .init(ToAddresses: [to]),
                Content: .init(Raw: .init(Data: Data(message.rfc5322()).base64EncodedString())))
            body = Array(try encoder.encode(request))
        } catch {
            throw .permanent("cannot encode the SES request: \(error)")
        }
        let request = AWSRequest(
            method: .POST, url: url, headers: [("Host", hostHeader), ("Content-Type", "application/json")], body: body)
        let response: AWSResponse
        do {
            response = try await client.send(request, safety: .notAfterSend, operation: "SendEmail", decodeError: Self.decodeError)
        } catch let error as AWSError {
            let mapped = Self.classify(error)
            logger.warning("SES SendEmail failed", metadata: ["messageId": "\(message.messageId)", "error": "\(mapped)"])
            throw mapped
        } catch {
            throw .temporary("SES SendEmail: \(error)")
        }
        let sesId = (try? JSONDecoder().decode(Response.self, from: Data(response.body)))?.MessageId ?? "?"
        logger.info("mail sent by SES", metadata: ["to": "\(to)", "messageId": "\(message.messageId)", "sesMessageId": "\(sesId)"])
    }

    /// Throttling, 5xx and no answer: try again later; anything else SES said no to will say no again.
    static func classify(_ error: AWSError) -> MailError {
        let text = "SES SendEmail: \(error)"
        if error.isRetryable || error.outcomeUnknown || error.statusCode == 429 || error.statusCode == 0 || error.statusCode >= 500
            || ["TooManyRequestsException", "LimitExceededException", "ThrottlingException"].contains(error.type)
        {
            return .temporary(text)
        }
        return .permanent(text)
    }

    /// SES v2 answers errors in JSON (`x-amzn-ErrorType`, `message`); some emulators answer in the query protocol's
    /// XML (`<Code>`, `<Message>`). Either way the code and message are kept.
    static func decodeError(_ response: AWSResponse) -> AWSError {
        var error = AWSError.decode(statusCode: response.status, headers: response.headers, body: response.body)
        let body = response.body
        func find(_ pattern: [UInt8], from start: Int) -> Int? {
            var i = start
            while i + pattern.count <= body.count {
                if body[i..<i + pattern.count].elementsEqual(pattern) { return i }
                i += 1
            }
            return nil
        }
        func element(_ name: String) -> String? {
            let open = Array("<\(name)>".utf8)
            let close = Array("</\(name)>".utf8)
            guard let start = find(open, from: 0), let end = find(close, from: start + open.count) else { return nil }
            return String(decoding: body[(start + open.count)..<end], as: UTF8.self)
        }
        if let code = element("Code"), error.type == String(response.status) { error.type = code }
        if let message = element("Message") { error.message = message }
        return error
    }
}

extension SESMailSender {
    /// An AWSSender that signs for SES (`ses`) in `region`.
    public static func client(
        httpClient: HTTPClient, region: String, credentials: AWSCredentials, retry: RetryPolicy = .default,
        timeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "aws.ses")
    ) -> AWSSender {
        AWSSender(
            httpClient: httpClient, region: region, service: "ses", credentials: credentials, retry: retry, timeout: timeout, logger: logger
        )
    }
}
