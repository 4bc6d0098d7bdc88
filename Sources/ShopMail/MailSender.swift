import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a message was not sent. `temporary`: try again later (a 4xx reply, a connection that failed or timed out, an
/// answer that never came); `permanent`: the same message will fail again (a 5xx reply, a refused address or
/// credentials, a server that would take it only in clear text).
public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    case temporary(String)
    case permanent(String)

    public var description: String {
        switch self {
        case .temporary(let message): "temporary mail failure: \(message)"
        case .permanent(let message): "permanent mail failure: \(message)"
        }
    }

    public var isTemporary: Bool { if case .temporary = self { true } else { false } }
}

/// Sends one message. Returning normally means the server accepted it (SMTP's 250 after DATA, SES's 200, the file
/// renamed into place); the caller records the send as done right after.
public protocol MailSender: Sendable {
    func send(_ message: MailMessage) async throws(MailError)
}

/// `SHOP_MAIL=file`: each message as `<directory>/<message id>.eml`, exactly the bytes an SMTP server would get, and
/// one log line naming the file, so a developer sees what the shopper would. The file is written under a temporary
/// name and renamed, so a reader never sees half a message, and the same Message-ID (a retry) replaces the file.
public struct FileMailSender: MailSender {
    public let directory: String
    let logger: Logger

    public init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// The file a message goes to: its Message-ID with anything but letters, digits, `.`, `-`, `_` and `@` as `_`.
    public func path(for message: MailMessage) -> String {
        var name = ""
        for scalar in message.messageId.unicodeScalars {
            let safe =
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.@".unicodeScalars.contains(scalar))
            name.unicodeScalars.append(safe ? scalar : "_")
        }
        if name.isEmpty || name.hasPrefix(".") { name = "_" + name }
        return (directory.hasSuffix("/") ? directory : directory + "/") + String(name.prefix(200)) + ".eml"
    }

    public func send(_ message: MailMessage) async throws(MailError) {
        let path = path(for: message)
        let bytes = message.rfc5322()
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .temporary("cannot create the mail directory \(directory): \(error)")
        }
        let temporary = path + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw .temporary("cannot create \(temporary) (errno \(errno))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in write(fd, buffer.baseAddress! + written, buffer.count - written) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            written += n
        }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else {
            unlink(temporary)
            throw .temporary("cannot write \(temporary) (errno \(errno))")
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .temporary("cannot rename \(temporary) to \(path) (errno \(code))")
        }
        logger.info(
            "mail written to \(path)",
            metadata: ["to": "\(message.to)", "subject": "\(message.subject)", "messageId": "\(message.messageId)"])
    }
}
