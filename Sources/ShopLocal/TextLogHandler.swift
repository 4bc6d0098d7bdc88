import Logging

/// `shop serve`'s log lines: swift-log's `StreamLogHandler` on standard error, same format, but metadata set on
/// the logger is kept as it is and formatted only when a line is written.
///
/// `StreamLogHandler` formats all of its metadata again on every change. Hummingbird sets a request id on each
/// request's logger and the envelope sets `request_id`, so that was two sorts and string joins per request
/// whether or not anything was logged: 2.3% of the process under `GET /products/{id}` (`perf`,
/// docs/BENCHMARKS.md). Lines are unchanged: the metadata reaches `StreamLogHandler` with the event.
public struct TextLogHandler: LogHandler {
    private var output: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    public init(label: String) {
        output = StreamLogHandler.standardError(label: label)
    }

    /// Writes to `stream` instead (for tests).
    public init(label: String, stream: any TextOutputStream & Sendable) {
        output = StreamLogHandler(label: label, stream: stream)
    }

    public var logLevel: Logger.Level {
        get { output.logLevel }
        set { output.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { output.metadataProvider }
        set { output.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        output.log(event: event)
    }
}
