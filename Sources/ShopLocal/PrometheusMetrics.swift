import CoreMetrics
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import ShopAssembly
import ShopTelemetry

/// `shop serve`'s swift-metrics backend: swift-prometheus's registry, with every metric registered with the help text
/// of ShopTelemetry's table. (swift-prometheus's own `PrometheusMetricsFactory` registers without help, and
/// `promtool check metrics` refuses a metric without a HELP line.)
public struct ShopPrometheusFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry
    /// Latency buckets, finer than swift-prometheus's default at the low end: most local requests take about a millisecond.
    public static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .microseconds(2_500_000),
        .seconds(5), .seconds(10),
    ]
    static let valueBuckets: [Double] = [1, 5, 10, 50, 100, 500, 1000, 5000, 10000]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static func descriptor(_ label: String) -> MetricNameDescriptor {
        let help = ShopMetricTable.definition(label)?.help ?? "\(label) (a library's metric, not in ShopTelemetry's table)."
        return MetricNameDescriptor(metricName: label, unitName: "", helpText: help)
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if aggregate {
            return registry.makeValueHistogram(descriptor: Self.descriptor(label), labels: dimensions, buckets: Self.valueBuckets)
        }
        return registry.makeGauge(descriptor: Self.descriptor(label), labels: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: Self.descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: Self.descriptor(label), labels: dimensions, buckets: Self.durationBuckets)
    }

    // Series live as long as the process: the shop's labels are bounded, and a scrape must not lose a counter.
    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}

/// The metrics listener of `shop serve` (`SHOP_METRICS_ADDRESS`): `GET /metrics` in Prometheus's text format, on its
/// own address, never on the store's public port.
public enum MetricsListener {
    public static func application(
        host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "ServerlessShop-metrics"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                let shown = host.contains(":") ? "[\(host)]" : host
                logger.notice("metrics listening on http://\(shown):\(bound)/metrics")
            },
            logger: logger)
    }
}

extension MetricsListener {
    /// `SHOP_METRICS_ADDRESS`: bootstraps swift-metrics with the Prometheus backend and returns the listener to run
    /// beside the store; nil (and no backend: every metric is a no-op) when it is off. Call once, before the services
    /// are built.
    public static func bootstrap(_ address: ShopConfiguration.ListenAddress?, logger: Logger) -> (any Service)? {
        guard let address else { return nil }
        let registry = PrometheusCollectorRegistry()
        ShopMetrics.bootstrap(ShopPrometheusFactory(registry: registry))
        return application(host: address.host, port: address.port, registry: registry, logger: logger)
    }
}
