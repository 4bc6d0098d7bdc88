import CoreMetrics
import Synchronization

/// What a metric is to its backends: a counter, or a timer (a duration histogram in Prometheus, an array of
/// milliseconds in CloudWatch's embedded metric format).
public enum MetricKind: String, Sendable {
    case counter
    case timer
}

/// One row of the metric table: everything a backend needs to publish the metric, help text included.
public struct MetricDefinition: Sendable {
    /// The swift-metrics label, which is the Prometheus name (`shop_orders_placed_total`).
    public let name: String
    public let kind: MetricKind
    /// Label (Prometheus) / dimension (swift-metrics) names, each with a bounded set of values.
    public let labels: [String]
    public let help: String
    /// The metric's name in CloudWatch (namespace `ServerlessShop`).
    public let cloudWatchName: String
    /// Labels whose values are folded into the CloudWatch name (`AWSCalls` + `throttled` = `AWSCallsThrottled`): an EMF
    /// line carries one value per dimension, and the functions keep dimensions to `function` and `route`. Other labels
    /// are summed over in CloudWatch (Prometheus keeps them all).
    public let cloudWatchNameLabels: [FoldedLabel]

    /// A label folded into the CloudWatch name, with every value it can take.
    public struct FoldedLabel: Sendable {
        public let name: String
        public let values: [String]
    }

    init(
        _ name: String, _ kind: MetricKind, labels: [String] = [], cloudWatch: String, foldedIntoCloudWatchName: [FoldedLabel] = [],
        help: String
    ) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
        self.cloudWatchName = cloudWatch
        self.cloudWatchNameLabels = foldedIntoCloudWatchName
    }

    /// The CloudWatch name of one series: `cloudWatchName` followed by the folded labels' values in CamelCase.
    public func cloudWatchName(dimensions: [(String, String)]) -> String {
        guard !cloudWatchNameLabels.isEmpty else { return cloudWatchName }
        var result = cloudWatchName
        for label in cloudWatchNameLabels {
            guard let value = dimensions.first(where: { $0.0 == label.name })?.1 else { continue }
            result += MetricDefinition.camelCase(value)
        }
        return result
    }

    /// `conditional_failed` → `ConditionalFailed`, `5xx` → `5xx`.
    static func camelCase(_ value: String) -> String {
        value.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// Every CloudWatch name this metric can have, from the folded labels' possible values.
    public var cloudWatchNames: [String] {
        var names = [cloudWatchName]
        for label in cloudWatchNameLabels {
            names = names.flatMap { name in label.values.map { name + MetricDefinition.camelCase($0) } }
        }
        return names
    }
}

/// The bounded value sets of the labels folded into CloudWatch names.
public enum MetricLabelValues {
    public static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"]
    public static let awsOutcomes = ["ok", "error", "throttled", "conditional_failed"]
    public static let deliveryChannels = ["email", "webhook"]
    public static let deliveryOutcomes = ["sent", "retrying", "gave_up"]
    public static let refundOutcomes = ["sent", "failed"]
    public static let cancelReasons = ["shopper", "admin", "expiry"]
}

extension MetricDefinition.FoldedLabel {
    static let statusClass = Self(name: "status_class", values: MetricLabelValues.statusClasses)
    static let awsOutcome = Self(name: "outcome", values: MetricLabelValues.awsOutcomes)
    static let refundOutcome = Self(name: "outcome", values: MetricLabelValues.refundOutcomes)
    static let channel = Self(name: "channel", values: MetricLabelValues.deliveryChannels)
}

/// The table of every metric the shop emits. Both backends read it: `shop serve`'s Prometheus registry (names, types,
/// labels, help) and the functions' embedded metric format (CloudWatch names). deploy/metrics.json is this table as
/// data (a test keeps it equal to `ShopMetricTable.document`); scripts/template_checks.py holds the template's alarms
/// and dashboard to the CloudWatch names in it.
public enum ShopMetricTable {
    // Requests (both hosts; on a function, one request per invocation).
    public static let httpRequests = MetricDefinition(
        "shop_http_requests_total", .counter, labels: ["route", "method", "status_class"], cloudWatch: "Requests",
        foldedIntoCloudWatchName: [.statusClass],
        help: "HTTP requests answered, by route template (unmatched for paths no route knows), method and status class.")
    public static let httpRequestDuration = MetricDefinition(
        "shop_http_request_duration_seconds", .timer, labels: ["route", "method", "status_class"], cloudWatch: "RequestDuration",
        help: "Time from a request's arrival at the router to its response, by route template, method and status class.")
    public static let busyResponses = MetricDefinition(
        "shop_busy_responses_total", .counter, cloudWatch: "BusyResponses",
        help: "Requests answered 503 busy: a store write kept meeting conflicting transactions or throttling.")

    // The business.
    public static let ordersPlaced = MetricDefinition(
        "shop_orders_placed_total", .counter, cloudWatch: "OrdersPlaced",
        help: "Orders placed (created; a replay of an Idempotency-Key does not count).")
    public static let ordersPaid = MetricDefinition(
        "shop_orders_paid_total", .counter, cloudWatch: "OrdersPaid", help: "Orders that became PAID.")
    public static let ordersCancelled = MetricDefinition(
        "shop_orders_cancelled_total", .counter, labels: ["reason"], cloudWatch: "OrdersCancelled",
        help: "Orders cancelled, by who cancelled them: shopper, admin or expiry (the sweep).")
    public static let ordersFulfilled = MetricDefinition(
        "shop_orders_fulfilled_total", .counter, cloudWatch: "OrdersFulfilled", help: "Paid orders marked fulfilled.")
    public static let stockOuts = MetricDefinition(
        "shop_stock_outs_total", .counter, cloudWatch: "StockOuts", help: "Orders refused with 409 out_of_stock.")
    public static let paymentsFailed = MetricDefinition(
        "shop_payments_failed_total", .counter, labels: ["code"], cloudWatch: "PaymentsFailed",
        help: "Payments the gateway reported failed, by failure code (codes outside the known list count as other).")
    public static let refunds = MetricDefinition(
        "shop_refunds_total", .counter, labels: ["outcome"], cloudWatch: "Refunds", foldedIntoCloudWatchName: [.refundOutcome],
        help: "Refunds sent to the gateway, by outcome: sent, or failed (it stays due and the sweep retries it).")
    public static let eventDeliveries = MetricDefinition(
        "shop_event_deliveries_total", .counter, labels: ["channel", "outcome"], cloudWatch: "EventDeliveries",
        foldedIntoCloudWatchName: [.channel],
        help: "Emails and webhooks of order events, by channel and outcome: sent, retrying (an attempt failed) or gave_up.")

    // The store and AWS.
    public static let awsCalls = MetricDefinition(
        "shop_aws_calls_total", .counter, labels: ["service", "operation", "outcome"], cloudWatch: "AWSCalls",
        foldedIntoCloudWatchName: [.awsOutcome],
        help: "AWS calls (after the send layer's retries), by service, operation and outcome: ok, error, throttled or conditional_failed.")
    public static let awsCallDuration = MetricDefinition(
        "shop_aws_call_duration_seconds", .timer, labels: ["service", "operation", "outcome"], cloudWatch: "AWSCallDuration",
        help: "Duration of AWS calls, retries and their waits included, by service, operation and outcome.")
    public static let transactionConflicts = MetricDefinition(
        "shop_dynamodb_transaction_conflicts_total", .counter, cloudWatch: "TransactionConflicts",
        help: "DynamoDB transactions cancelled for a conflict or a throttled item (tried again under a new token).")

    // Functions only.
    public static let coldStarts = MetricDefinition(
        "shop_lambda_cold_starts_total", .counter, cloudWatch: "ColdStarts", help: "Function invocations that were a process's first.")
    public static let initDuration = MetricDefinition(
        "shop_lambda_init_duration_seconds", .timer, cloudWatch: "InitDuration",
        help: "A function process's init phase: from main's start to its first invocation.")

    /// Every metric, in the order above.
    public static let all: [MetricDefinition] = [
        httpRequests, httpRequestDuration, busyResponses,
        ordersPlaced, ordersPaid, ordersCancelled, ordersFulfilled, stockOuts, paymentsFailed, refunds, eventDeliveries,
        awsCalls, awsCallDuration, transactionConflicts,
        coldStarts, initDuration,
    ]

    static let byName: [String: MetricDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The row of a swift-metrics label; nil for a metric that is not in the table (a library's own).
    public static func definition(_ name: String) -> MetricDefinition? { byName[name] }
}

// MARK: - Recording

/// The one recording API: what the code counts and times, in its own words. Each call goes to swift-metrics, so the
/// backend is whatever the host bootstrapped (Prometheus in `shop serve`, EMF in a function, nothing in tests).
public enum ShopMetrics {
    /// Whether a host bootstrapped a backend (`bootstrap(_:)`). Until one does, requests are not recorded at all:
    /// swift-metrics' no-op handlers still cost a handle and its dimensions per request, a fifth of the fastest
    /// route's time (docs/BENCHMARKS.md).
    private static let enabled = Atomic<Bool>(false)

    /// Bootstraps swift-metrics with `factory` and starts recording requests. Once per process.
    public static func bootstrap(_ factory: any MetricsFactory) {
        MetricsSystem.bootstrap(factory)
        enabled.store(true, ordering: .releasing)
    }

    public static var isEnabled: Bool { enabled.load(ordering: .acquiring) }

    public static func request(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestSeries(route: route, method: httpMethod(method), statusClass: statusClass(status))
        guard isEnabled else {
            // Not bootstrapped: recorded only for a factory bound to the task (the tests' `withMetricsFactory`).
            guard !(MetricsSystem.factory is NOOPMetricsHandler) else { return }
            key.makeHandles().record(duration)
            return
        }
        // The backend's handles for a series are made once: making them looks the series up in the backend's
        // registry under its lock and checks its name and labels: 5 % of a product read's samples under load.
        let handles =
            requestHandles.withLock { $0[key] }
            ?? {
                let made = key.makeHandles()
                return requestHandles.withLock { handles in
                    if let other = handles[key] { return other }
                    handles[key] = made
                    return made
                }
            }()
        handles.record(duration)
    }

    /// A series of the request metrics: the route template, the method and the status class (all bounded).
    struct RequestSeries: Hashable {
        let route: String
        let method: String
        let statusClass: String

        func makeHandles() -> RequestHandles {
            let dimensions = [("route", route), ("method", method), ("status_class", statusClass)]
            return RequestHandles(
                count: Counter(label: ShopMetricTable.httpRequests.name, dimensions: dimensions),
                duration: Timer(label: ShopMetricTable.httpRequestDuration.name, dimensions: dimensions))
        }
    }

    struct RequestHandles: Sendable {
        let count: Counter
        let duration: Timer

        func record(_ elapsed: Duration) {
            count.increment()
            duration.recordNanoseconds(elapsed.nanoseconds)
        }
    }

    /// The bootstrapped backend's handles per series; a few hundred at most (routes × methods × status classes).
    private static let requestHandles = Mutex<[RequestSeries: RequestHandles]>([:])

    public static func busy() { count(ShopMetricTable.busyResponses) }
    public static func orderPlaced() { count(ShopMetricTable.ordersPlaced) }
    public static func orderPaid() { count(ShopMetricTable.ordersPaid) }
    /// `reason`: `shopper`, `admin` or `expiry`.
    public static func orderCancelled(reason: String) {
        count(ShopMetricTable.ordersCancelled, [("reason", MetricLabelValues.cancelReasons.contains(reason) ? reason : "other")])
    }
    public static func orderFulfilled() { count(ShopMetricTable.ordersFulfilled) }
    public static func stockOut() { count(ShopMetricTable.stockOuts) }
    public static func paymentFailed(code: String?) { count(ShopMetricTable.paymentsFailed, [("code", failureCode(code))]) }
    public static func refund(sent: Bool) { count(ShopMetricTable.refunds, [("outcome", sent ? "sent" : "failed")]) }
    /// `outcome`: `sent`, `retrying` or `gave_up`.
    public static func eventDelivery(webhook: Bool, outcome: String) {
        count(ShopMetricTable.eventDeliveries, [("channel", webhook ? "webhook" : "email"), ("outcome", outcome)])
    }
    public static func awsCall(service: String, operation: String, outcome: String, duration: Duration) {
        let dimensions = [("service", service), ("operation", operation), ("outcome", outcome)]
        Counter(label: ShopMetricTable.awsCalls.name, dimensions: dimensions).increment()
        Timer(label: ShopMetricTable.awsCallDuration.name, dimensions: dimensions).recordNanoseconds(duration.nanoseconds)
    }
    public static func transactionConflict() { count(ShopMetricTable.transactionConflicts) }
    public static func coldStart(initDuration: Duration) {
        count(ShopMetricTable.coldStarts)
        Timer(label: ShopMetricTable.initDuration.name, dimensions: []).recordNanoseconds(initDuration.nanoseconds)
    }

    static func count(_ metric: MetricDefinition, _ dimensions: [(String, String)] = []) {
        Counter(label: metric.name, dimensions: dimensions).increment()
    }

    // MARK: bounded label values

    /// `2xx` … `5xx`.
    public static func statusClass(_ status: Int) -> String {
        switch status {
        case 100..<200: "1xx"
        case 200..<300: "2xx"
        case 300..<400: "3xx"
        case 400..<500: "4xx"
        default: "5xx"
        }
    }

    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// A request's method, or `other`: HTTP lets a client send any token as a method.
    public static func httpMethod(_ method: String) -> String { methods.contains(method) ? method : "other" }

    /// Stripe's decline and failure codes the shop expects; any other code counts as `other`.
    public static let knownFailureCodes: Set<String> = [
        "card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "incorrect_number", "invalid_cvc", "invalid_expiry_month",
        "invalid_expiry_year", "invalid_number", "lost_card", "stolen_card", "processing_error", "authentication_required",
        "payment_intent_authentication_failure", "payment_failed", "fraudulent", "generic_decline", "do_not_honor",
    ]

    public static func failureCode(_ code: String?) -> String {
        guard let code, knownFailureCodes.contains(code) else { return code == nil ? "payment_failed" : "other" }
        return code
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return whole &+ attoseconds / 1_000_000_000
    }
}

extension ShopMetricTable {
    /// The table as JSON, one metric a line: deploy/metrics.json holds exactly this (ShopTelemetryTests compares them),
    /// for the template's checks, which cannot run Swift.
    public static var document: String {
        let lines = all.map { metric -> String in
            TelemetryJSON.object([
                "name": .string(metric.name), "type": .string(metric.kind.rawValue),
                "labels": .array(metric.labels.map(TelemetryJSON.string)),
                "help": .string(metric.help), "cloudWatchNames": .array(metric.cloudWatchNames.map(TelemetryJSON.string)),
                "cloudWatchUnit": .string(metric.kind == .timer ? "Milliseconds" : "Count"),
            ]).rendered()
        }
        return "{\"namespace\":\"\(EmbeddedMetricsFactory.namespace)\",\"metrics\":[\n" + lines.joined(separator: ",\n") + "\n]}\n"
    }
}
