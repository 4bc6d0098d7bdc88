import CoreMetrics
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// swift-metrics backend of the Lambda functions: CloudWatch's embedded metric format (EMF). Values recorded during an
/// invocation are summed (counters) or collected (timers, in milliseconds) by CloudWatch name, and `flush` writes them
/// as one JSON object on standard output, which Lambda sends to CloudWatch Logs with the log lines; CloudWatch turns it
/// into metrics in namespace `ServerlessShop`. The dimensions are `function` and, for a request, `route`
/// (`"POST /orders"`), as the two dimension sets `[function]` and `[function, route]`. Written whatever the log level.
public final class EmbeddedMetricsFactory: MetricsFactory, Sendable {
    public static let namespace = "ServerlessShop"
    /// The EMF specification's limits: metrics per directive, values per metric.
    static let maxMetrics = 100
    static let maxValues = 100

    struct Accumulated {
        var counts: [String: Double] = [:]
        var timings: [String: [Double]] = [:]
        /// First-seen order of the CloudWatch names, so that output is stable.
        var order: [String] = []
        var route: String?
        var isEmpty: Bool { order.isEmpty }
    }

    let function: String
    let state = Mutex(Accumulated())
    let clock: @Sendable () -> Date
    let write: @Sendable (String) -> Void

    /// `function`: the `function` dimension's value (`AWS_LAMBDA_FUNCTION_NAME`). `write` gets each object as one line
    /// (with its newline); standard output by default.
    public init(
        function: String, clock: @escaping @Sendable () -> Date = { Date() },
        write: @escaping @Sendable (String) -> Void = { StandardOutput.write($0) }
    ) {
        self.function = function
        self.clock = clock
        self.write = write
    }

    // MARK: recording

    func add(count: Double, definition: MetricDefinition?, label: String, dimensions: [(String, String)]) {
        let name = definition?.cloudWatchName(dimensions: dimensions) ?? label
        let route = Self.route(dimensions)
        state.withLock { state in
            if state.counts[name] == nil && state.timings[name] == nil { state.order.append(name) }
            state.counts[name, default: 0] += count
            if let route { state.route = route }
        }
    }

    func add(milliseconds: Double, definition: MetricDefinition?, label: String, dimensions: [(String, String)]) {
        let name = definition?.cloudWatchName(dimensions: dimensions) ?? label
        let route = Self.route(dimensions)
        let full = state.withLock { state -> Bool in
            if state.counts[name] == nil && state.timings[name] == nil { state.order.append(name) }
            state.timings[name, default: []].append(milliseconds)
            if let route { state.route = route }
            return state.timings[name]!.count >= Self.maxValues
        }
        // A metric may carry at most 100 values: a long invocation (the sweep's hundreds of calls) writes an object early.
        if full { flush() }
    }

    /// `"POST /orders"` from a request metric's `method` and `route` labels.
    static func route(_ dimensions: [(String, String)]) -> String? {
        guard let route = dimensions.first(where: { $0.0 == "route" })?.1 else { return nil }
        let method = dimensions.first(where: { $0.0 == "method" })?.1
        return method.map { "\($0) \(route)" } ?? route
    }

    // MARK: output

    /// Writes what was recorded since the last flush as one EMF object (nothing if nothing was recorded), and starts over.
    public func flush() {
        let taken = state.withLock { state -> Accumulated in
            let taken = state
            state = Accumulated()
            return taken
        }
        guard !taken.isEmpty, let line = Self.render(taken, function: function, timestamp: clock()) else { return }
        write(line)
    }

    /// One EMF object, or nil when there is nothing to say. Metrics beyond 100 go into further directives of the same object.
    static func render(_ values: Accumulated, function: String, timestamp: Date) -> String? {
        var root: [String: TelemetryJSON] = [:]
        var definitions: [TelemetryJSON] = []
        for name in values.order {
            if let count = values.counts[name] {
                root[name] = .number(count)
                definitions.append(.object(["Name": .string(name), "Unit": .string("Count")]))
            } else if let timings = values.timings[name] {
                root[name] = timings.count == 1 ? .number(timings[0]) : .array(timings.map(TelemetryJSON.number))
                definitions.append(.object(["Name": .string(name), "Unit": .string("Milliseconds")]))
            }
        }
        guard !definitions.isEmpty else { return nil }
        var dimensionSets: [TelemetryJSON] = [.array([.string("function")])]
        root["function"] = .string(function)
        if let route = values.route {
            root["route"] = .string(route)
            dimensionSets.append(.array([.string("function"), .string("route")]))
        }
        var directives: [TelemetryJSON] = []
        var start = 0
        while start < definitions.count {
            let chunk = Array(definitions[start..<min(start + maxMetrics, definitions.count)])
            directives.append(
                .object(["Namespace": .string(namespace), "Dimensions": .array(dimensionSets), "Metrics": .array(chunk)]))
            start += maxMetrics
        }
        let milliseconds = (timestamp.timeIntervalSince1970 * 1000).rounded(.down)
        root["_aws"] = .object(["Timestamp": .number(milliseconds), "CloudWatchMetrics": .array(directives)])
        return TelemetryJSON.object(root).rendered() + "\n"
    }

    // MARK: MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Handler(factory: self, label: label, dimensions: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        Handler(factory: self, label: label, dimensions: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler(factory: self, label: label, dimensions: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        Handler(factory: self, label: label, dimensions: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Handler(factory: self, label: label, dimensions: dimensions)
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}

    /// One handler type for every kind: it only forwards to the factory's accumulator.
    final class Handler: CounterHandler, FloatingPointCounterHandler, RecorderHandler, MeterHandler, TimerHandler, Sendable {
        let factory: EmbeddedMetricsFactory
        let label: String
        let dimensions: [(String, String)]
        let definition: MetricDefinition?

        init(factory: EmbeddedMetricsFactory, label: String, dimensions: [(String, String)]) {
            self.factory = factory
            self.label = label
            self.dimensions = dimensions
            self.definition = ShopMetricTable.definition(label)
        }

        func increment(by amount: Int64) {
            factory.add(count: Double(amount), definition: definition, label: label, dimensions: dimensions)
        }
        func increment(by amount: Double) { factory.add(count: amount, definition: definition, label: label, dimensions: dimensions) }
        func reset() {}
        // Gauges and recorders: the last value wins within an invocation; the shop records none.
        func record(_ value: Int64) { record(Double(value)) }
        func record(_ value: Double) { factory.add(count: value, definition: definition, label: label, dimensions: dimensions) }
        func set(_ value: Int64) { record(Double(value)) }
        func set(_ value: Double) { record(value) }
        func decrement(by amount: Double) { factory.add(count: -amount, definition: definition, label: label, dimensions: dimensions) }
        func recordNanoseconds(_ duration: Int64) {
            factory.add(milliseconds: Double(duration) / 1_000_000, definition: definition, label: label, dimensions: dimensions)
        }
    }
}

/// The few JSON shapes an EMF object needs, rendered with sorted keys and without Foundation's number formatting quirks.
enum TelemetryJSON {
    case string(String)
    case number(Double)
    /// Seconds since the epoch with microseconds, as X-Ray's `start_time` and `end_time`.
    case seconds(Double)
    case bool(Bool)
    case array([TelemetryJSON])
    case object([String: TelemetryJSON])

    func rendered() -> String {
        var out = ""
        render(into: &out)
        return out
    }

    func render(into out: inout String) {
        switch self {
        case .string(let text):
            TelemetryJSON.quote(text, into: &out)
        case .number(let value):
            if !value.isFinite {
                out += "0"
            } else if value == value.rounded(), abs(value) < 1e15 {
                out += String(Int64(value))
            } else {
                out += String(value)
            }
        case .seconds(let value):
            let micros = Int64((value * 1_000_000).rounded())
            let fraction = String(micros % 1_000_000)
            out += String(micros / 1_000_000) + "." + String(repeating: "0", count: 6 - fraction.count) + fraction
        case .bool(let value):
            out += value ? "true" : "false"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.render(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                TelemetryJSON.quote(key, into: &out)
                out += ":"
                fields[key]!.render(into: &out)
            }
            out += "}"
        }
    }

    static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20:
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
