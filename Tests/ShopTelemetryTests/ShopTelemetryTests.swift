import CoreMetrics
import Foundation
import Prometheus
import ShopLocal
import Synchronization
import Testing

@testable import ShopTelemetry

@Suite struct MetricTableTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// deploy/metrics.json is the table as data, for the template's checks: it must say what the code says.
    @Test func deployMetricsFileIsTheTable() throws {
        let file = try String(contentsOf: Self.repository.appendingPathComponent("deploy/metrics.json"), encoding: .utf8)
        #expect(
            file == ShopMetricTable.document,
            "deploy/metrics.json is stale: write ShopMetricTable.document to it (scripts/metrics-table does)")
    }

    /// Prometheus's naming rules, which promtool's lint holds metrics to: snake_case, counters end in `_total`, durations
    /// in base units (`_seconds`), help on every metric; label names valid; CloudWatch names unique.
    @Test func namesFollowTheRules() {
        var cloudWatch: Set<String> = []
        for metric in ShopMetricTable.all {
            #expect(metric.name.wholeMatch(of: /shop_[a-z0-9_]+/) != nil, "\(metric.name)")
            switch metric.kind {
            case .counter: #expect(metric.name.hasSuffix("_total"), "\(metric.name)")
            case .timer: #expect(metric.name.hasSuffix("_seconds"), "\(metric.name)")
            }
            #expect(metric.help.count > 10 && !metric.help.contains("\n"))
            for label in metric.labels { #expect(label.wholeMatch(of: /[a-z][a-z_]*/) != nil) }
            for folded in metric.cloudWatchNameLabels { #expect(metric.labels.contains(folded.name)) }
            for name in metric.cloudWatchNames {
                #expect(name.wholeMatch(of: /[A-Za-z][A-Za-z0-9]*/) != nil, "\(name)")
                #expect(cloudWatch.insert(name).inserted, "\(name) twice")
            }
        }
        #expect(cloudWatch.count <= EmbeddedMetricsFactory.maxMetrics, "every metric fits one EMF directive")
    }

    @Test func labelValuesAreBounded() {
        #expect(ShopMetrics.statusClass(204) == "2xx" && ShopMetrics.statusClass(503) == "5xx" && ShopMetrics.statusClass(999) == "5xx")
        #expect(ShopMetrics.httpMethod("BREW") == "other" && ShopMetrics.httpMethod("POST") == "POST")
        #expect(ShopMetrics.failureCode("card_declined") == "card_declined")
        #expect(ShopMetrics.failureCode("something_new_from_stripe") == "other")
        #expect(ShopMetrics.failureCode(nil) == "payment_failed")
    }
}

@Suite struct PrometheusBackendTests {
    /// Every series has its table's HELP line and TYPE, whatever the order metrics are first used in.
    @Test func everyMetricHasHelp() throws {
        let registry = PrometheusCollectorRegistry()
        withMetricsFactory(ShopPrometheusFactory(registry: registry)) {
            ShopMetrics.request(route: "/products/{id}", method: "GET", status: 200, duration: .milliseconds(3))
            ShopMetrics.request(route: "/products/{id}", method: "GET", status: 404, duration: .milliseconds(1))
            ShopMetrics.orderPlaced()
            ShopMetrics.orderCancelled(reason: "expiry")
            ShopMetrics.paymentFailed(code: "card_declined")
            ShopMetrics.awsCall(service: "dynamodb", operation: "GetItem", outcome: "ok", duration: .milliseconds(4))
        }
        let text = registry.emitToString()
        for metric in [
            ShopMetricTable.httpRequests, ShopMetricTable.httpRequestDuration, ShopMetricTable.ordersPlaced,
            ShopMetricTable.ordersCancelled,
            ShopMetricTable.paymentsFailed, ShopMetricTable.awsCalls, ShopMetricTable.awsCallDuration,
        ] {
            #expect(text.contains("# HELP \(metric.name) \(metric.help)\n"), "\(metric.name)")
            #expect(text.contains("# TYPE \(metric.name) \(metric.kind == .counter ? "counter" : "histogram")\n"), "\(metric.name)")
        }
        #expect(
            text.contains(#"shop_http_requests_total{method="GET",route="/products/{id}",status_class="2xx"} 1"#)
                || text.contains(#"shop_http_requests_total{route="/products/{id}",method="GET",status_class="2xx"} 1"#), "\(text)")
        #expect(text.contains(#"shop_orders_cancelled_total{reason="expiry"} 1"#))
        #expect(text.contains("shop_orders_placed_total 1"))
    }
}

@Suite struct EmbeddedMetricsTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// The EMF specification's rules, as scripts/lambda_cases.py checks them under the emulator.
    static func checkEMF(_ line: String) throws -> [String: Any] {
        #expect(line.hasSuffix("\n") && !line.dropLast().contains("\n"), "one line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let aws = try #require(object["_aws"] as? [String: Any])
        let timestamp = try #require(aws["Timestamp"] as? Int)
        #expect(abs(Double(timestamp) - Date().timeIntervalSince1970 * 1000) < 60_000, "milliseconds since the epoch")
        let directives = try #require(aws["CloudWatchMetrics"] as? [[String: Any]])
        #expect(!directives.isEmpty)
        for directive in directives {
            #expect(directive["Namespace"] as? String == "ServerlessShop")
            let dimensionSets = try #require(directive["Dimensions"] as? [[String]])
            for set in dimensionSets {
                #expect(!set.isEmpty && set.count <= 30)
                for dimension in set { #expect(object[dimension] is String, "dimension \(dimension) is a string at the root") }
            }
            let metrics = try #require(directive["Metrics"] as? [[String: Any]])
            #expect(!metrics.isEmpty && metrics.count <= 100)
            for metric in metrics {
                let name = try #require(metric["Name"] as? String)
                let value = object[name]
                let isNumber = Self.isNumber(value)
                let isNumbers = (value as? [Any]).map { $0.count <= 100 && $0.allSatisfy(Self.isNumber) } ?? false
                #expect(isNumber || isNumbers, "\(name) is a number or an array of numbers")
            }
        }
        return object
    }

    /// A JSON number, not `true`/`false` (JSONSerialization makes both NSNumbers; a Bool's type encoding is `c`).
    static func isNumber(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) != "c"
    }

    @Test func oneObjectPerFlushWithRouteAndFunction() throws {
        let lines = Lines()
        let factory = EmbeddedMetricsFactory(function: "shop-orders", write: { lines.append($0) })
        withMetricsFactory(factory) {
            ShopMetrics.request(route: "/orders", method: "POST", status: 201, duration: .milliseconds(12))
            ShopMetrics.orderPlaced()
            ShopMetrics.awsCall(service: "dynamodb", operation: "TransactWriteItems", outcome: "ok", duration: .milliseconds(5))
            ShopMetrics.awsCall(service: "dynamodb", operation: "GetItem", outcome: "ok", duration: .milliseconds(2))
            ShopMetrics.awsCall(service: "dynamodb", operation: "GetItem", outcome: "throttled", duration: .milliseconds(9))
        }
        factory.flush()
        factory.flush()  // nothing recorded since: nothing written
        #expect(lines.all.count == 1)
        let object = try Self.checkEMF(lines.all[0])
        #expect(object["function"] as? String == "shop-orders")
        #expect(object["route"] as? String == "POST /orders")
        #expect(object["Requests2xx"] as? Int == 1)
        #expect(object["OrdersPlaced"] as? Int == 1)
        #expect(object["AWSCallsOk"] as? Int == 2)
        #expect(object["AWSCallsThrottled"] as? Int == 1)
        #expect((object["AWSCallDuration"] as? [Double])?.count == 3)
        #expect(object["RequestDuration"] as? Double == 12)
        let directive = try #require(((object["_aws"] as? [String: Any])?["CloudWatchMetrics"] as? [[String: Any]])?.first)
        #expect(directive["Dimensions"] as? [[String]] == [["function"], ["function", "route"]])
    }

    /// Without a request (the sweep, the stream's function) there is no route dimension.
    @Test func noRouteWithoutARequest() throws {
        let lines = Lines()
        let factory = EmbeddedMetricsFactory(function: "shop-sweep", write: { lines.append($0) })
        withMetricsFactory(factory) { ShopMetrics.orderCancelled(reason: "expiry") }
        factory.flush()
        let object = try Self.checkEMF(try #require(lines.all.first))
        #expect(object["route"] == nil && object["OrdersCancelled"] as? Int == 1)
        let directive = try #require(((object["_aws"] as? [String: Any])?["CloudWatchMetrics"] as? [[String: Any]])?.first)
        #expect(directive["Dimensions"] as? [[String]] == [["function"]])
    }

    /// A metric may carry 100 values: the 100th writes an object at once.
    @Test func hundredValuesFlushEarly() throws {
        let lines = Lines()
        let factory = EmbeddedMetricsFactory(function: "shop-sweep", write: { lines.append($0) })
        withMetricsFactory(factory) {
            for _ in 0..<150 { ShopMetrics.awsCall(service: "dynamodb", operation: "Query", outcome: "ok", duration: .milliseconds(1)) }
        }
        factory.flush()
        #expect(lines.all.count == 2)
        let first = try Self.checkEMF(lines.all[0])
        let second = try Self.checkEMF(lines.all[1])
        #expect((first["AWSCallDuration"] as? [Double])?.count == 100 && (second["AWSCallDuration"] as? [Double])?.count == 50)
        #expect((first["AWSCallsOk"] as? Int ?? 0) + (second["AWSCallsOk"] as? Int ?? 0) == 150)
    }
}

@Suite struct TraceContextTests {
    @Test func validTraceparentIsContinued() throws {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let parsed = try #require(TraceParent(header: header))
        #expect(parsed.traceId == "4bf92f3577b34da6a3ce929d0e0e4736" && parsed.spanId == "00f067aa0ba902b7" && parsed.flags == "01")
        let continued = TraceParent.continuing(header)
        #expect(continued.traceId == parsed.traceId && continued.spanId != parsed.spanId)
        #expect(TraceParent(header: continued.header) == continued)
        // A later version with more fields is read by its first four.
        #expect(TraceParent(header: "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds") != nil)
    }

    @Test(arguments: [
        "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // all-zero parent
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 has exactly four fields
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    ])
    func invalidTraceparentStartsANewTrace(_ header: String) {
        #expect(TraceParent(header: header) == nil)
        let fresh = TraceParent.continuing(header)
        #expect(fresh.traceId.count == 32 && fresh.spanId.count == 16 && TraceParent(header: fresh.header) != nil)
    }

    @Test func xrayHeader() throws {
        let header = try #require(XRayTraceHeader("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:1"))
        #expect(header.root == "1-5759e988-bd862e3fe1be46a994272793" && header.parent == "53995c3f42cd8ad8" && header.sampled == true)
        #expect(XRayTraceHeader("Parent=53995c3f42cd8ad8") == nil)
        #expect(XRayTraceHeader("Root=2-5759e988-bd862e3fe1be46a994272793") == nil)
        #expect(XRayEmitter(daemonAddress: "not an address") == nil)
        #expect(XRayEmitter(daemonAddress: "169.254.79.129:2000") != nil)
    }
}
