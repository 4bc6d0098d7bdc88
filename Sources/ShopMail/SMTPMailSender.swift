import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `SHOP_SMTP_TLS`: `.required` (the default) sends only after STARTTLS; `.off` allows clear text, for a server on
/// loopback. Either way STARTTLS is used whenever the server offers it, and certificates are always verified.
public enum TLSMode: String, Sendable, Equatable {
    case required
    case off
}

/// `SHOP_SMTP_HOST`, `_PORT`, `_USERNAME`, `_PASSWORD`, `_TLS`, `_CA_FILE`.
public struct SMTPConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var tls: TLSMode
    /// PEM certificates to trust instead of the system's (a test server's own certificate, a private CA).
    public var caFile: String?
    /// The name this client gives in EHLO.
    public var heloName: String
    /// For connecting and for each reply (DATA's final reply included).
    public var timeout: Duration

    public init(
        host: String, port: Int = 587, username: String? = nil, password: String? = nil, tls: TLSMode = .required, caFile: String? = nil,
        heloName: String = "serverlessshop", timeout: Duration = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.tls = tls
        self.caFile = caFile
        self.heloName = heloName
        self.timeout = timeout
    }
}

/// `SHOP_MAIL=smtp`: one SMTP session per message (RFC 5321) on SwiftNIO: EHLO, STARTTLS whenever offered (and
/// required unless `tls` is `.off`), EHLO again, AUTH PLAIN (else LOGIN) when a username is set, MAIL FROM, RCPT TO,
/// DATA with dot-stuffing, QUIT. 4xx replies, connection failures and time-outs are `.temporary`; 5xx replies, a
/// server that would take the message only in clear text, missing AUTH and malformed addresses are `.permanent`.
public struct SMTPMailSender: MailSender {
    public let configuration: SMTPConfiguration
    let logger: Logger
    let group: any EventLoopGroup

    public init(configuration: SMTPConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup.singleton
    }

    var server: String { "\(configuration.host):\(configuration.port)" }

    public func send(_ message: MailMessage) async throws(MailError) {
        guard let from = MailMessage.address(of: message.from) else {
            throw .permanent("the sender address \(message.from) is not an email address")
        }
        guard let to = MailMessage.address(of: message.to) else {
            throw .permanent("the recipient address \(message.to) is not an email address")
        }
        let data = SMTPSession.dotStuffed(message.rfc5322())
        do {
            try await deliver(from: from, to: to, data: data)
        } catch let error as MailError {
            logger.warning("SMTP send failed", metadata: ["server": "\(server)", "messageId": "\(message.messageId)", "error": "\(error)"])
            throw error
        } catch {
            let mapped = MailError.temporary("SMTP \(server): \(Self.describe(error))")
            logger.warning(
                "SMTP send failed", metadata: ["server": "\(server)", "messageId": "\(message.messageId)", "error": "\(mapped)"])
            throw mapped
        }
        logger.info("mail sent by SMTP", metadata: ["server": "\(server)", "to": "\(to)", "messageId": "\(message.messageId)"])
    }

    func deliver(from: String, to: String, data: [UInt8]) async throws {
        let timeout = TimeAmount.nanoseconds(
            Int64(configuration.timeout.components.seconds) * 1_000_000_000 + configuration.timeout.components.attoseconds / 1_000_000_000)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler()) }
                }
                .connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw MailError.temporary("cannot connect to the SMTP server \(server): \(Self.describe(error))")
        }
        let session = SMTPSession(channel: channel, timeout: timeout, server: server)
        do {
            try await converse(session, from: from, to: to, data: data)
        } catch {
            try? await channel.close().get()
            throw error
        }
        try? await channel.close().get()
    }

    func converse(_ session: SMTPSession, from: String, to: String, data: [UInt8]) async throws {
        try session.expect(220, for: "greeting", try await session.reply())
        var extensions = try await session.ehlo(configuration.heloName)
        if extensions.keys.contains("STARTTLS") {
            try session.expect(220, for: "STARTTLS", try await session.command("STARTTLS"))
            try await session.startTLS(context: try makeTLSContext(), host: configuration.host)
            extensions = try await session.ehlo(configuration.heloName)
        } else if configuration.tls == .required {
            await session.quit()
            throw MailError.permanent(
                "the SMTP server \(server) does not offer STARTTLS, and SHOP_SMTP_TLS requires it: not sending in clear text (set SHOP_SMTP_TLS=off only for a server on loopback)"
            )
        }
        if let username = configuration.username {
            try await authenticate(session, username: username, password: configuration.password ?? "", offered: extensions["AUTH"] ?? [])
        }
        try session.expect(250, for: "MAIL FROM", try await session.command("MAIL FROM:<\(from)>"))
        try session.expect([250, 251], for: "RCPT TO", try await session.command("RCPT TO:<\(to)>"))
        try session.expect(354, for: "DATA", try await session.command("DATA"))
        try session.expect(250, for: "the message (end of DATA)", try await session.write(data + Array(".\r\n".utf8)))
        await session.quit()
    }

    func authenticate(_ session: SMTPSession, username: String, password: String, offered: [String]) async throws {
        let mechanisms = Set(offered.map { $0.uppercased() })
        func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        if mechanisms.contains("PLAIN") {
            let reply = try await session.command("AUTH PLAIN " + b64("\0\(username)\0\(password)"))
            try session.expect(235, for: "AUTH PLAIN", reply)
        } else if mechanisms.contains("LOGIN") {
            try session.expect(334, for: "AUTH LOGIN", try await session.command("AUTH LOGIN"))
            try session.expect(334, for: "AUTH LOGIN (username)", try await session.command(b64(username)))
            try session.expect(235, for: "AUTH LOGIN", try await session.command(b64(password)))
        } else {
            await session.quit()
            throw MailError.permanent(
                "the SMTP server \(server) offers no AUTH PLAIN or LOGIN (offered: \(offered.isEmpty ? "none" : offered.joined(separator: " "))), but SHOP_SMTP_USERNAME is set"
            )
        }
    }

    /// Full verification (chain and host name) always; against `caFile` alone when it is set, else the system's roots.
    func makeTLSContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = configuration.caFile { tls.trustRoots = .file(caFile) }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw MailError.permanent("cannot set up TLS for \(server) (SHOP_SMTP_CA_FILE \(configuration.caFile ?? "unset")): \(error)")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLError, case .handshakeFailed(let inner) = error {
            return "TLS handshake failed (certificate verification: is SHOP_SMTP_CA_FILE right?): \(inner)"
        }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "TLS certificate does not name the server: \(error)"
        }
        return String(describing: error)
    }
}

/// One reply: its code and the text of each of its lines.
struct SMTPReply: Sendable, CustomStringConvertible {
    var code: Int
    var lines: [String]
    var description: String { "\(code) \(lines.joined(separator: " / "))" }
}

struct SMTPTimeout: Error, CustomStringConvertible {
    var description: String { "no reply in time" }
}

struct SMTPProtocolError: Error, CustomStringConvertible {
    var description: String
}

/// The conversation on one connection.
struct SMTPSession: Sendable {
    let channel: any Channel
    let timeout: TimeAmount
    let server: String

    func reply(timeout: TimeAmount? = nil) async throws -> SMTPReply {
        let timeout = timeout ?? self.timeout
        return try await channel.eventLoop.flatSubmit { [channel] in
            do {
                return try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self).nextReply(
                    timeout: timeout, on: channel.eventLoop)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }.get()
    }

    func command(_ line: String) async throws -> SMTPReply {
        try await write(Array((line + "\r\n").utf8))
    }

    /// Writes `bytes` and waits for the reply to them. A write that fails on a connection already failed reports
    /// the first failure (a TLS error, the server's close), not the write's own "closed channel".
    func write(_ bytes: [UInt8]) async throws -> SMTPReply {
        do {
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        } catch {
            _ = try await reply()
            throw error
        }
        return try await reply()
    }

    /// EHLO's reply as keywords (upper-cased) and their parameters: `["STARTTLS": [], "AUTH": ["PLAIN", "LOGIN"]]`.
    func ehlo(_ name: String) async throws -> [String: [String]] {
        let reply = try await command("EHLO \(name)")
        try expect(250, for: "EHLO", reply)
        var extensions: [String: [String]] = [:]
        for line in reply.lines.dropFirst() {
            // `AUTH=PLAIN LOGIN` is the form some old servers use.
            let words = line.split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
            guard let keyword = words.first?.uppercased() else { continue }
            extensions[keyword, default: []] += words.dropFirst()
        }
        return extensions
    }

    func expect(_ code: Int, for step: String, _ reply: SMTPReply) throws {
        try expect([code], for: step, reply)
    }

    func expect(_ codes: [Int], for step: String, _ reply: SMTPReply) throws {
        guard !codes.contains(reply.code) else { return }
        let text = "the SMTP server \(server) answered \(step) with \(reply)"
        switch reply.code {
        case 400..<500: throw MailError.temporary(text)
        case 500..<600: throw MailError.permanent(text)
        default: throw MailError.temporary(text)
        }
    }

    /// The TLS handler goes in front of the reply parser, and the handshake (chain and name checked) is waited for
    /// before anything else is written. A server that sent anything after its 220 to STARTTLS is refused: those
    /// bytes came in clear and must not be read as protected.
    func startTLS(context: NIOSSLContext, host: String) async throws {
        let sni: String? = Self.isIPAddress(host) ? nil : host
        try await channel.eventLoop.flatSubmit { [channel, timeout] () -> EventLoopFuture<Void> in
            do {
                let handler = try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self)
                guard handler.isIdle else {
                    throw MailError.permanent("the SMTP server sent data after its STARTTLS reply (possible injection); not going on")
                }
                let handshake = handler.expectHandshake(timeout: timeout, on: channel.eventLoop)
                let tls = try NIOSSLClientHandler(context: context, serverHostname: sni)
                try channel.pipeline.syncOperations.addHandler(tls, position: .first)
                return handshake
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }.get()
    }

    /// QUIT, waiting at most 2 seconds for its reply: the message is already accepted or refused.
    func quit() async {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: "QUIT\r\n")).get()
            _ = try await reply(timeout: .seconds(2))
        } catch {}
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// A line starting with `.` gets another in front (RFC 5321 §4.5.2); the message ends with CRLF.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 64)
        var atLineStart = true
        for byte in message {
            if atLineStart, byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            out.append(byte)
            atLineStart = byte == 10
        }
        if !(out.count >= 2 && out[out.count - 2] == 13 && out[out.count - 1] == 10) { out += [13, 10] }
        return out
    }
}

/// Splits the server's bytes into replies (`250-first`, `250-second`, `250 last`) and hands each to the next waiter,
/// or keeps it until someone waits (the greeting). Each wait has a time-out that closes the connection.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var buffer: [UInt8] = []
    private var lines: [String] = []
    private var code = 0
    private var ready: [Result<SMTPReply, any Error>] = []
    private var waiting: [(promise: EventLoopPromise<SMTPReply>, timer: Scheduled<Void>)] = []
    private var failure: (any Error)?
    private static let maxLine = 8192

    /// Nothing received that is not yet a whole reply, and no reply unclaimed.
    var isIdle: Bool { buffer.isEmpty && lines.isEmpty && ready.isEmpty }

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        buffer += bytes.readableBytesView
        while let newline = buffer.firstIndex(of: 10) {
            var lineBytes = Array(buffer[..<newline])
            buffer.removeSubrange(...newline)
            if lineBytes.last == 13 { lineBytes.removeLast() }
            parse(line: lineBytes, context: context)
        }
        if buffer.count > Self.maxLine {
            fail(SMTPProtocolError(description: "reply line longer than \(Self.maxLine) bytes"), context: context)
        }
    }

    private func parse(line: [UInt8], context: ChannelHandlerContext) {
        let digits = line.prefix(3)
        guard digits.count == 3, digits.allSatisfy({ (48...57).contains($0) }),
            line.count == 3 || line[3] == UInt8(ascii: " ") || line[3] == UInt8(ascii: "-")
        else {
            fail(
                SMTPProtocolError(description: "not an SMTP reply: \(String(decoding: line.prefix(200), as: UTF8.self))"), context: context)
            return
        }
        let lineCode = Int(String(decoding: digits, as: UTF8.self))!
        if !lines.isEmpty, lineCode != code {
            fail(SMTPProtocolError(description: "reply lines with different codes (\(code), \(lineCode))"), context: context)
            return
        }
        code = lineCode
        lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
        if line.count == 3 || line[3] == UInt8(ascii: " ") {
            deliver(.success(SMTPReply(code: code, lines: lines)))
            lines = []
        }
    }

    private func deliver(_ result: Result<SMTPReply, any Error>) {
        if waiting.isEmpty {
            ready.append(result)
        } else {
            let next = waiting.removeFirst()
            next.timer.cancel()
            next.promise.completeWith(result)
        }
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        guard failure == nil else { return }
        failure = error
        let pending = waiting
        waiting = []
        for entry in pending {
            entry.timer.cancel()
            entry.promise.fail(error)
        }
        if let handshake {
            self.handshake = nil
            handshake.timer.cancel()
            handshake.promise.fail(error)
        }
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SMTPProtocolError(description: "the server closed the connection"), context: context)
        context.fireChannelInactive()
    }

    private var handshake: (promise: EventLoopPromise<Void>, timer: Scheduled<Void>)?

    /// Completed when the TLS handler in front reports its handshake done; failed with the connection's first error.
    func expectHandshake(timeout: TimeAmount, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        if let failure { return eventLoop.makeFailedFuture(failure) }
        let promise = eventLoop.makePromise(of: Void.self)
        let timer = eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            if let context { self.fail(SMTPTimeout(), context: context) }
        }
        handshake = (promise, timer)
        return promise.futureResult
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, let pending = handshake {
            handshake = nil
            pending.timer.cancel()
            pending.promise.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func nextReply(timeout: TimeAmount, on eventLoop: any EventLoop) -> EventLoopFuture<SMTPReply> {
        if !ready.isEmpty { return eventLoop.makeCompletedFuture(ready.removeFirst()) }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        let promise = eventLoop.makePromise(of: SMTPReply.self)
        let timer = eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            if let context { self.fail(SMTPTimeout(), context: context) }
        }
        waiting.append((promise, timer))
        return promise.futureResult
    }
}
