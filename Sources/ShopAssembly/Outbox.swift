import AWSWire
import AsyncHTTPClient
import DynamoDBStore
import Logging
import NIOCore
import NIOHTTP1
import ShopAPI
import ShopDomain
import ShopMail
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The merchant's webhook (`SHOP_EVENTS_WEBHOOK_URL`): each event POSTed as JSON, signed with `Shop-Signature`. A 2xx
/// answer is delivered; anything else, or no answer within 10 seconds, is tried again later.
struct HTTPEventWebhook: EventWebhookSender {
    let httpClient: HTTPClient
    let url: String
    let secret: [UInt8]
    let clock: WallClock

    func post(_ event: OrderEvent, body: [UInt8]) async throws(DeliveryFailure) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ServerlessShop-Events/1")
        request.headers.add(name: "Shop-Signature", value: EventSignature.header(secret: secret, body: body, at: clock.now()))
        request.headers.add(name: "Shop-Event-Id", value: event.id)
        request.headers.add(name: "Shop-Event-Type", value: event.type.rawValue)
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: UInt
        do {
            let response = try await httpClient.execute(request, timeout: .seconds(10))
            status = response.status.code
            // The body is not read beyond a little: a receiver's answer means nothing but its status.
            _ = try? await response.body.collect(upTo: 64 * 1024)
        } catch {
            throw DeliveryFailure("POST \(url): \(error)")
        }
        guard (200..<300).contains(status) else { throw DeliveryFailure("POST \(url): HTTP \(status)") }
    }
}

extension ShopAssembly {
    /// The shopper's emails under `SHOP_MAIL` (ShopMail renders and sends them); nil when mail is off. A broken
    /// template override stops the start, naming the file.
    static func mailer(_ configuration: ShopConfiguration, host: HostParts) throws -> (any OrderMailer)? {
        let events = configuration.events
        let sender: any MailSender
        switch events.mail {
        case .off:
            return nil
        case .file:
            sender = FileMailSender(directory: configuration.dataDirectory + "/mail", logger: host.logger)
        case .smtp(let smtp):
            sender = SMTPMailSender(
                configuration: SMTPConfiguration(
                    host: smtp.host, port: smtp.port, username: smtp.username, password: smtp.password?.value,
                    tls: smtp.tlsRequired ? .required : .off, caFile: smtp.caFile),
                logger: host.logger)
        case .ses(let ses):
            sender = SESMailSender(
                client: SESMailSender.client(
                    httpClient: host.httpClient, region: ses.aws.region, credentials: ses.aws.credentials, logger: host.logger),
                endpoint: ses.endpoint, logger: host.logger)
        }
        let renderer: @Sendable () throws -> EmailRenderer
        if let directory = events.templatesDirectory {
            // The merchant's templates are parsed now: a mistake in one stops the start, naming the file.
            let overridden: EmailRenderer
            do {
                overridden = try EmailRenderer(overridesDirectory: directory)
            } catch {
                throw ShopConfiguration.Invalid(description: "SHOP_MAIL_TEMPLATES_DIR: \(error)")
            }
            host.logger.info("email templates overridden", metadata: ["files": "\(overridden.overriddenFiles)"])
            renderer = { overridden }
        } else {
            // The built-in ones (compiled in, and parsed by ShopMailTests) for the first email, not at start.
            renderer = { try BuiltInEmailTemplates.renderer.get() }
        }
        return OrderEmails(sender: sender, renderer: renderer, from: events.mailFrom, webURL: events.webURL, clock: host.clock)
    }
}

/// ShopMail's built-in templates, parsed once, when the first email is rendered.
enum BuiltInEmailTemplates {
    static let renderer = Result { try EmailRenderer(overridesDirectory: nil) }
}

/// Renders an event's email with ShopMail's templates and sends it. The Message-ID is derived from the event and the
/// template (`MailMessage.messageId`), so every attempt of one email carries the same one.
struct OrderEmails: OrderMailer {
    let sender: any MailSender
    let renderer: @Sendable () throws -> EmailRenderer
    let from: String
    let webURL: String
    let clock: WallClock

    /// The domain of the Message-IDs: the From address's.
    var domain: String {
        let address = MailMessage.address(of: from) ?? from
        return address.split(separator: "@").last.map(String.init) ?? "serverlessshop"
    }

    func send(template: String, to: String, event: OrderEvent) async throws(DeliveryFailure) {
        guard let which = EmailTemplate(rawValue: template) else { throw DeliveryFailure("no email template \(template)", permanent: true) }
        let rendered: (subject: String, text: String, html: String)
        do {
            rendered = try renderer().render(which, order: event.data.order, refundAmount: event.data.refund?.amount, webURL: webURL)
        } catch {
            throw DeliveryFailure("template \(template): \(error)", permanent: true)
        }
        let message = MailMessage(
            from: from, to: to, subject: rendered.subject, text: rendered.text, html: rendered.html,
            messageId: MailMessage.messageId(eventId: event.id, template: template, domain: domain), date: clock.now())
        do {
            try await sender.send(message)
        } catch {
            switch error {
            case .temporary(let why): throw DeliveryFailure(why)
            case .permanent(let why): throw DeliveryFailure(why, permanent: true)
            }
        }
    }
}

/// Puts order events on an EventBridge bus (`PutEvents`, JSON 1.1): source `serverlessshop`, `detail-type` the event's
/// type, `detail` the event.
public struct EventBridgePublisher: Sendable {
    let client: AWSJSONClient
    let bus: String

    public init(_ settings: ShopConfiguration.EventBusSettings, httpClient: HTTPClient, clock: WallClock = .system, logger: Logger) {
        client = AWSJSONClient(
            client: AWSSender(
                httpClient: httpClient, region: settings.aws.region, service: "events", credentials: settings.aws.credentials,
                retry: .default, timeout: .seconds(10), clock: clock, logger: logger),
            endpoint: settings.endpoint, targetPrefix: "AWSEvents", jsonVersion: "1.1")
        bus = settings.name
    }

    struct Entry: Encodable {
        var Source = "serverlessshop"
        var DetailType: String
        var Detail: String
        var EventBusName: String
        var Time: Int64
    }
    struct Input: Encodable { var Entries: [Entry] }
    struct Output: Decodable {
        struct Result: Decodable {
            var EventId: String?
            var ErrorCode: String?
            var ErrorMessage: String?
        }
        var FailedEntryCount: Int?
        var Entries: [Result]?
    }

    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    /// Puts one event; throws unless EventBridge took it.
    public func publish(_ event: OrderEvent) async throws {
        let entry = Entry(
            DetailType: event.type.rawValue, Detail: String(decoding: EventService.json(event), as: UTF8.self), EventBusName: bus,
            Time: Int64(event.occurredAt.timeIntervalSince1970))
        // Not retried blindly by the send layer: a repeat would put the event twice (receivers dedupe by `id`, but
        // fewer repeats are better); the stream's own retry takes over.
        let body = try await client.call("PutEvents", body: Array(try JSONEncoder().encode(Input(Entries: [entry]))), safety: .notAfterSend)
        let output = try JSONDecoder().decode(Output.self, from: Data(body))
        if let failed = output.FailedEntryCount, failed > 0 {
            let reason = output.Entries?.first.map { "\($0.ErrorCode ?? "?"): \($0.ErrorMessage ?? "")" } ?? "?"
            throw Failed(description: "PutEvents refused the event \(event.id): \(reason)")
        }
    }
}

/// The `events` function: DynamoDB Streams batches of the outbox table. Per new event, in order: put it on the bus,
/// plan its deliveries (conditional, once per event), and try what is due for its order once (a failure is only
/// recorded for the sweep to retry: a stream record never waits on a mail server). A record fails only when
/// `PutEvents` fails; it and the rest of the batch are reported in `batchItemFailures` so the mapping retries from it.
public struct OutboxStreamHandler: Sendable {
    let events: EventService
    let publisher: EventBridgePublisher?
    let logger: Logger

    public init(events: EventService, publisher: EventBridgePublisher?, logger: Logger) {
        self.events = events
        self.publisher = publisher
        self.logger = logger
    }

    struct StreamEvent: Decodable {
        struct Record: Decodable {
            struct Change: Decodable {
                var NewImage: Item?
                var SequenceNumber: String?
            }
            var eventName: String?
            var dynamodb: Change?
        }
        var Records: [Record]?
    }

    struct Response: Encodable {
        struct Failure: Encodable { var itemIdentifier: String }
        var batchItemFailures: [Failure]
    }

    /// A delivery takes up to about 30 s to fail (an SMTP server that does not answer); none is started within this
    /// of the invocation's deadline, so that the batch itself never times out (and is put on the bus again).
    public static let deliveryReserve: TimeInterval = 45

    public func handle(_ payload: [UInt8], deadline: Date? = nil) async throws -> [UInt8] {
        let deliveriesUntil = deadline.map { $0.addingTimeInterval(-Self.deliveryReserve) }
        let batch = try JSONDecoder().decode(StreamEvent.self, from: Data(payload))
        var failures: [Response.Failure] = []
        for record in batch.Records ?? [] {
            let sequence = record.dynamodb?.SequenceNumber ?? ""
            if !failures.isEmpty {
                // After a failed record everything is reported: Lambda resends from the lowest failure on.
                failures.append(.init(itemIdentifier: sequence))
                continue
            }
            guard record.eventName == "INSERT", let image = record.dynamodb?.NewImage, DynamoDBStore.isEventItem(image) else { continue }
            do {
                let stored = try DynamoDBStore.eventRecord(image)
                if let publisher, let event = try await events.event(stored) {
                    try await publisher.publish(event)
                }
                try await events.dispatch(stored)
                // One try now, while there is time; the sweep retries what fails or is left.
                try await events.deliverDue(limit: 25, onlyOrder: stored.orderId, until: deliveriesUntil)
            } catch {
                logger.error("could not handle an outbox record", metadata: ["sequence": "\(sequence)", "error": "\(error)"])
                failures.append(.init(itemIdentifier: sequence))
            }
        }
        return Array(try JSONEncoder().encode(Response(batchItemFailures: failures)))
    }
}
