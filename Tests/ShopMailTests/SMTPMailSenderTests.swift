import Foundation
import Logging
import NIOCore
import TestServices
import Testing

@testable import ShopMail

#if canImport(Glibc)
import Glibc
#endif

/// Against real SMTP servers: aiosmtpd, started by scripts/smtp-server (through ./scripts/test), one plain and one
/// that requires STARTTLS and AUTH. Each test writes to its own recipient and finds what arrived by it.
@Suite("SMTPMailSender against aiosmtpd")
struct SMTPMailSenderTests {
    struct Servers {
        var plainHost: String
        var plainPort: Int
        var tlsHost: String
        var tlsPort: Int
        var loginPort: Int
        var caFile: String
        var maildir: String
        var user: String
        var password: String

        init() throws {
            let s = try TestService.smtp.settings
            func hostPort(_ key: String) throws -> (String, Int) {
                let parts = try #require(s[key]?.split(separator: ":"), "SHOP_TEST_SMTP has no \(key)=")
                return (String(parts[0]), try #require(Int(parts[1])))
            }
            (plainHost, plainPort) = try hostPort("plain")
            (tlsHost, tlsPort) = try hostPort("starttls")
            loginPort = try hostPort("login").1
            caFile = try #require(s["ca"])
            maildir = try #require(s["maildir"])
            user = try #require(s["user"])
            password = try #require(s["password"])
        }

        /// What the servers received for `recipient`: the .eml bytes and the server's note of how it came.
        func received(by recipient: String) throws -> [(eml: [UInt8], meta: Meta)] {
            var found: [(eml: [UInt8], meta: Meta)] = []
            for name in try FileManager.default.contentsOfDirectory(atPath: maildir).sorted() where name.hasSuffix(".json") {
                let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: URL(fileURLWithPath: maildir + "/" + name)))
                guard meta.rcptTos.contains(recipient) else { continue }
                let eml = try [UInt8](Data(contentsOf: URL(fileURLWithPath: maildir + "/" + name.dropLast(5) + ".eml")))
                found.append((eml, meta))
            }
            return found
        }
    }

    struct Meta: Decodable {
        var server: String
        var mailFrom: String
        var rcptTos: [String]
        var tls: Bool
        var authenticatedAs: String?
    }

    let logger = Logger(label: "smtp-test")

    func message(to recipient: String, subject: String = "Commande 3c4d5e6f confirmée ✓", text: String = "Hello\n") -> MailMessage {
        Fixtures.message(
            subject: subject, text: text, html: "<p>Hello</p>\n", to: "Ada <\(recipient)>", messageId: uniqueToken("id") + "@serverlessshop"
        )
    }

    @Test func plainServerReceivesHeadersBothPartsAndDotStuffedLines() async throws {
        let servers = try Servers()
        let recipient = uniqueToken("plain") + "@example.org"
        let text = "Hello Ada,\n.a line that starts with a dot\n..two dots\n.\nend\n"
        let sent = message(to: recipient, text: text)
        let sender = SMTPMailSender(
            configuration: SMTPConfiguration(host: servers.plainHost, port: servers.plainPort, tls: .off, timeout: .seconds(10)),
            logger: logger)
        try await sender.send(sent)

        let received = try servers.received(by: recipient)
        try #require(received.count == 1)
        let (eml, meta) = received[0]
        #expect(meta.server == "plain" && meta.mailFrom == "shop@example.com" && meta.rcptTos == [recipient] && !meta.tls)
        #expect(eml == sent.rfc5322(), "what arrived is exactly the message, dot-stuffing undone")
        let view = try RecipientView.parse(eml)
        #expect(view.defects.isEmpty)
        #expect(view.subject == "Commande 3c4d5e6f confirmée ✓")
        #expect(view.from == "Shop <shop@example.com>" && view.to == "Ada <\(recipient)>")
        #expect(view.messageId == "<\(sent.messageId)>")
        #expect(view.text == text)
        #expect(view.html == "<p>Hello</p>\n")
    }

    @Test func startTLSWithAuthPlainAndTheTestCA() async throws {
        let servers = try Servers()
        let recipient = uniqueToken("tls") + "@example.org"
        let sender = SMTPMailSender(
            configuration: SMTPConfiguration(
                host: servers.tlsHost, port: servers.tlsPort, username: servers.user, password: servers.password, tls: .required,
                caFile: servers.caFile, timeout: .seconds(10)),
            logger: logger)
        try await sender.send(message(to: recipient))
        let received = try servers.received(by: recipient)
        try #require(received.count == 1)
        #expect(received[0].meta.server == "starttls" && received[0].meta.tls && received[0].meta.authenticatedAs == servers.user)
        #expect(try RecipientView.parse(received[0].eml).subject == "Commande 3c4d5e6f confirmée ✓")
    }

    @Test func startTLSByHostNameWithAuthLogin() async throws {
        // `localhost`: the certificate's DNS name is checked (127.0.0.1 above checks its IP address). This server
        // offers AUTH LOGIN only.
        let servers = try Servers()
        let recipient = uniqueToken("login") + "@example.org"
        var configuration = SMTPConfiguration(
            host: "localhost", port: servers.loginPort, username: servers.user, password: servers.password, caFile: servers.caFile,
            timeout: .seconds(10))
        configuration.heloName = "mail-test.example"
        let sender = SMTPMailSender(configuration: configuration, logger: logger)
        try await sender.send(message(to: recipient))
        let received = try servers.received(by: recipient)
        try #require(received.count == 1)
        #expect(received[0].meta.server == "login" && received[0].meta.tls && received[0].meta.authenticatedAs == servers.user)
    }

    @Test func tlsRequiredAgainstAServerWithoutSTARTTLSSendsNothing() async throws {
        let servers = try Servers()
        let recipient = uniqueToken("clear") + "@example.org"
        let sender = SMTPMailSender(
            configuration: SMTPConfiguration(host: servers.plainHost, port: servers.plainPort, tls: .required), logger: logger)
        let error = await #expect(throws: MailError.self) { try await sender.send(message(to: recipient)) }
        guard case .permanent(let text) = error else {
            Issue.record("expected a permanent error, got \(String(describing: error))")
            return
        }
        #expect(text.contains("does not offer STARTTLS") && text.contains("not sending in clear text"))
        #expect(try servers.received(by: recipient).isEmpty)
    }

    @Test func aWrongPasswordIsPermanent() async throws {
        let servers = try Servers()
        let recipient = uniqueToken("badpass") + "@example.org"
        let sender = SMTPMailSender(
            configuration: SMTPConfiguration(
                host: servers.tlsHost, port: servers.tlsPort, username: servers.user, password: "wrong", caFile: servers.caFile,
                timeout: .seconds(10)),
            logger: logger)
        let error = await #expect(throws: MailError.self) { try await sender.send(message(to: recipient)) }
        guard case .permanent(let text) = error else {
            Issue.record("expected a permanent error, got \(String(describing: error))")
            return
        }
        #expect(text.contains("AUTH PLAIN") && text.contains("535"))
        #expect(try servers.received(by: recipient).isEmpty)
    }

    @Test func anUntrustedCertificateSendsNothing() async throws {
        let servers = try Servers()
        let recipient = uniqueToken("untrusted") + "@example.org"
        // No CA file: the system's roots do not know the test server's self-signed certificate.
        let sender = SMTPMailSender(
            configuration: SMTPConfiguration(
                host: servers.tlsHost, port: servers.tlsPort, username: servers.user, password: servers.password, timeout: .seconds(10)),
            logger: logger)
        let error = await #expect(throws: MailError.self) { try await sender.send(message(to: recipient)) }
        guard case .temporary(let text) = error else {
            Issue.record("expected a temporary error, got \(String(describing: error))")
            return
        }
        #expect(text.contains("TLS handshake failed") && text.contains("CERTIFICATE_VERIFY_FAILED"), "\(text)")
        #expect(try servers.received(by: recipient).isEmpty)
    }

    @Test func aRecipientRefusedWith4xxIsTemporaryAnd5xxPermanent() async throws {
        let servers = try Servers()
        let sender = SMTPMailSender(
            configuration: SMTPConfiguration(host: servers.plainHost, port: servers.plainPort, tls: .off, timeout: .seconds(10)),
            logger: logger)
        let later = uniqueToken("tempfail") + "@example.org"
        let laterError = await #expect(throws: MailError.self) { try await sender.send(message(to: later)) }
        guard case .temporary(let laterText) = laterError else {
            Issue.record("expected temporary, got \(String(describing: laterError))")
            return
        }
        #expect(laterText.contains("RCPT TO") && laterText.contains("451 4.3.0 Try again later"))
        let never = uniqueToken("reject") + "@example.org"
        let neverError = await #expect(throws: MailError.self) { try await sender.send(message(to: never)) }
        guard case .permanent(let neverText) = neverError else {
            Issue.record("expected permanent, got \(String(describing: neverError))")
            return
        }
        #expect(neverText.contains("RCPT TO") && neverText.contains("550 5.1.1 No such user here"))
        #expect(try servers.received(by: later).isEmpty && servers.received(by: never).isEmpty)
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        // A listening socket nobody accepts from: the connection is made (the kernel's backlog), no greeting comes.
        let (fd, port) = try Self.socket(listening: true)
        defer { close(fd) }
        let sender = SMTPMailSender(
            configuration: SMTPConfiguration(host: "127.0.0.1", port: port, tls: .off, timeout: .seconds(1)), logger: logger)
        let started = ContinuousClock.now
        let error = await #expect(throws: MailError.self) { try await sender.send(message(to: "nobody@example.org")) }
        guard case .temporary(let text) = error else {
            Issue.record("expected a temporary error, got \(String(describing: error))")
            return
        }
        #expect(text.contains("no reply in time"), "\(text)")
        // The configured second, not the 30 s default (loose: a loaded machine delays the event loop, as it did in a run).
        #expect(ContinuousClock.now - started < .seconds(25))
    }

    @Test func aClosedPortIsTemporary() async throws {
        let port = try Self.closedPort()
        let sender = SMTPMailSender(
            configuration: SMTPConfiguration(host: "127.0.0.1", port: port, tls: .off, timeout: .seconds(5)), logger: logger)
        let error = await #expect(throws: MailError.self) { try await sender.send(message(to: "nobody@example.org")) }
        guard case .temporary(let text) = error else {
            Issue.record("expected a temporary error, got \(String(describing: error))")
            return
        }
        #expect(text.contains("cannot connect to the SMTP server 127.0.0.1:\(port)"))
    }

    @Test func aBadRecipientIsRefusedBeforeConnecting() async throws {
        let sender = SMTPMailSender(configuration: SMTPConfiguration(host: "127.0.0.1", port: 1, tls: .off), logger: logger)
        let error = await #expect(throws: MailError.self) {
            try await sender.send(Fixtures.message(to: "a@example.org>\r\nRCPT TO:<victim@example.net"))
        }
        guard case .permanent = error else {
            Issue.record("expected a permanent error, got \(String(describing: error))")
            return
        }
    }

    @Test func dotStuffing() {
        let stuffed = SMTPSession.dotStuffed(Array(".a\r\nb\r\n..c\r\n.\r\n".utf8))
        #expect(String(decoding: stuffed, as: UTF8.self) == "..a\r\nb\r\n...c\r\n..\r\n")
        #expect(String(decoding: SMTPSession.dotStuffed(Array("x".utf8)), as: UTF8.self) == "x\r\n")
    }

    /// A loopback port nobody listens on: bound, read, closed.
    static func closedPort() throws -> Int {
        let (fd, port) = try socket(listening: false)
        close(fd)
        return port
    }

    /// A TCP socket bound to a free loopback port (listening, if asked); the caller closes it.
    static func socket(listening: Bool) throws -> (Int32, Int) {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound && (!listening || listen(fd, 4) == 0))
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
