import Logging
import ShopLocal
import Synchronization
import Testing

/// A stream that keeps what was written.
final class CapturedLines: TextOutputStream, Sendable {
    let text = Mutex("")
    func write(_ string: String) { text.withLock { $0 += string } }
}

@Suite("shop serve's log handler")
struct TextLogHandlerTests {
    /// The lines are StreamLogHandler's, byte for byte after the timestamp, whatever mix of logger metadata and
    /// per-call metadata (a per-call value wins, as it does there).
    @Test func writesWhatStreamLogHandlerWrites() {
        let ours = CapturedLines()
        let theirs = CapturedLines()
        var loggers = [
            Logger(label: "shop") { TextLogHandler(label: $0, stream: ours) },
            Logger(label: "shop") { StreamLogHandler(label: $0, stream: theirs) },
        ]
        for index in loggers.indices {
            loggers[index].logLevel = .debug
            loggers[index].info("no metadata")
            loggers[index][metadataKey: "request_id"] = "7f0c"
            loggers[index][metadataKey: "hb.request.id"] = "42"
            loggers[index].notice("request failed", metadata: ["status": "503", "path": "/auth/logout", "request_id": "explicit"])
            loggers[index][metadataKey: "hb.request.id"] = nil
            loggers[index].trace("below the level")
            loggers[index].debug("kept")
        }
        func withoutTimestamps(_ text: String) -> [Substring] {
            text.split(separator: "\n").map { $0.drop { $0 != " " } }
        }
        let lines = withoutTimestamps(ours.text.withLock { $0 })
        #expect(lines == withoutTimestamps(theirs.text.withLock { $0 }))
        #expect(lines.count == 3)
        #expect(lines.dropFirst().first?.contains("hb.request.id=42 path=/auth/logout request_id=explicit status=503") == true)
        #expect(lines.last?.hasSuffix(": request_id=7f0c [ShopAPITests] kept") == true)
    }
}
