import Foundation
import Logging
import Testing

@testable import ShopMail

@Suite("FileMailSender: one .eml file per Message-ID")
struct FileMailSenderTests {
    @Test func writesOneParsableFilePerMessageId() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mail-\(UUID().uuidString)/mail").path
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: directory).deletingLastPathComponent().path) }
        let sender = FileMailSender(directory: directory, logger: Logger(label: "test"))
        let first = Fixtures.message(subject: "Order 3c4d5e6f confirmed", text: "first\n", messageId: "abc123@serverlessshop")
        try await sender.send(first)
        let path = directory + "/abc123@serverlessshop.eml"
        #expect(sender.path(for: first) == path)
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written == first.rfc5322())
        let view = try RecipientView.parse(written)
        #expect(view.subject == "Order 3c4d5e6f confirmed" && view.text == "first\n" && view.messageId == "<abc123@serverlessshop>")

        // The same Message-ID again (a retry): the file is replaced, never a second one.
        var again = first
        again.text = "second\n"
        try await sender.send(again)
        try await sender.send(Fixtures.message(messageId: "other@serverlessshop"))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names == ["abc123@serverlessshop.eml", "other@serverlessshop.eml"])
        #expect(try RecipientView.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: path)))).text == "second\n")
    }

    @Test func aMessageIdCannotLeaveTheDirectory() {
        let sender = FileMailSender(directory: "/tmp/mail", logger: Logger(label: "test"))
        #expect(sender.path(for: Fixtures.message(messageId: "../../etc/passwd")) == "/tmp/mail/_.._.._etc_passwd.eml")
        #expect(sender.path(for: Fixtures.message(messageId: ".hidden@x")) == "/tmp/mail/_.hidden@x.eml")
        #expect(sender.path(for: Fixtures.message(messageId: "a/b\r\nc@x")) == "/tmp/mail/a_b__c@x.eml")
    }

    @Test func anUnwritableDirectoryIsATemporaryFailure() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mail-file-\(UUID().uuidString)").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let sender = FileMailSender(directory: file + "/mail", logger: Logger(label: "test"))
        await #expect(throws: MailError.self) { try await sender.send(Fixtures.message()) }
    }
}
