import BreakerServer
import BreakerWire
import Dispatch
import NIOCore
import NIOHTTP1
import Synchronization

/// The routes of the HTTP listener and what each answers. Everything is rendered from the
/// registry at request time; nothing is cached between requests.
public final class ObservabilityEndpoints: Sendable {
    enum Route: String, CaseIterable {
        case metrics = "/metrics"
        case health = "/health/circuit-breakers"
        case healthz = "/healthz"
        case readyz = "/readyz"
    }

    /// Methods every route accepts; anything else is 405 with this list in `Allow`.
    static let allowed = "GET, HEAD"
    /// How long a scrape waits for the writer thread to measure the database; past it the
    /// scrape is answered with the last measured size rather than not at all.
    static let refreshTimeout: TimeAmount = .seconds(2)

    /// The registry serving now (see `ServingRegistry`), read once per request.
    public let serving: ServingRegistry
    public var registry: BreakerRegistry { serving.registry }
    public let readiness: Readiness
    private let daemonMetrics: @Sendable () -> [UInt8]
    /// The label cardinality cap: per-breaker series beyond it are left out of `/metrics`.
    private let maxMetricSeries: Int
    /// Series left out, summed over every scrape (`breakerd_metric_series_dropped_total`).
    private let droppedSeries = Atomic<UInt64>(0)
    /// The live status page and its routes; nil with `--no-ui`.
    let statusPage: StatusPage?

    /// `daemonMetrics` renders the daemon's own swift-metrics in the text format; it is appended
    /// after the breaker series. The executable supplies it from the backend it bootstrapped.
    /// `statusPage` serves the status page (`GET /` and its routes); nil leaves them 404.
    public convenience init(registry: BreakerRegistry, readiness: Readiness, maxMetricSeries: Int = 100_000,
                            statusPage: StatusPageSettings? = nil, daemonMetrics: @escaping @Sendable () -> [UInt8] = { [] }) {
        self.init(serving: ServingRegistry(registry), readiness: readiness, maxMetricSeries: maxMetricSeries,
                  statusPage: statusPage, daemonMetrics: daemonMetrics)
    }

    /// For a daemon whose registry changes with its role: every route reads `serving` anew.
    public init(serving: ServingRegistry, readiness: Readiness, maxMetricSeries: Int = 100_000,
                statusPage: StatusPageSettings? = nil, daemonMetrics: @escaping @Sendable () -> [UInt8] = { [] }) {
        self.statusPage = statusPage.map { StatusPage(serving: serving, settings: $0) }
        self.serving = serving
        self.readiness = readiness
        self.maxMetricSeries = maxMetricSeries
        self.daemonMetrics = daemonMetrics
    }

    /// After the daemon replaced the serving registry: the status page's event streams watch
    /// the old one, so they end (browsers reconnect).
    public func servingRegistryReplaced() {
        statusPage?.events.endAll()
    }

    /// Answers one request; `completion` may run on another thread than the caller's.
    func respond(method: HTTPMethod, uri: String, on eventLoop: any EventLoop,
                 completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        guard let route = Route(rawValue: path) else {
            let routes = Route.allCases.map(\.rawValue) + (statusPage == nil ? [] : StatusPage.routes)
            return completion(.error(.notFound, "no such endpoint; try \(routes.joined(separator: ", "))"))
        }
        guard method == .GET || method == .HEAD else {
            return completion(.error(.methodNotAllowed, "\(path) accepts \(Self.allowed)",
                                     extraHeaders: [("Allow", Self.allowed)]))
        }
        switch route {
        case .metrics: metrics(on: eventLoop, completion: completion)
        case .health:
            // Walking every breaker is real work with many breakers: never on an event loop.
            let registry = self.registry
            Self.renderQueue.async { completion(.json(.ok, HealthReport.render(registry.snapshot()))) }
        case .healthz: completion(.json(.ok, Array(#"{"status":"ok"}"#.utf8) + [UInt8(ascii: "\n")]))
        case .readyz: completion(readyz())
        }
    }

    private func metrics(on eventLoop: any EventLoop, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let registry = self.registry
        let once = Once()
        let answer: @Sendable () -> Void = { [self] in
            guard once.claim() else { return }
            var (body, dropped) = BreakerExposition.render(registry.snapshot(), maxSeries: maxMetricSeries)
            let total = droppedSeries.add(UInt64(dropped), ordering: .relaxed).newValue
            var text = PrometheusText(capacity: 256)
            text.family(BreakerExposition.dropped, type: "counter",
                        help: "Per-breaker series left out of /metrics by the label cardinality cap (--max-metric-series), summed over scrapes.")
            text.sample(BreakerExposition.dropped, [], total)
            body += text.bytes
            body += daemonMetrics()
            completion(HTTPResponse(status: .ok, contentType: HTTPResponse.prometheusType, body: body))
        }
        // Measured on the writer thread, rendered on `renderQueue`: commits never wait for a
        // scrape, and neither do the protocol connections sharing the event loops.
        registry.refreshScrapeGauges { Self.renderQueue.async(execute: answer) }
        eventLoop.scheduleTask(in: Self.refreshTimeout) { Self.renderQueue.async(execute: answer) }
    }

    /// Scrapes, health reports and the status page's list and summaries walk every breaker;
    /// they run here, one at a time.
    static let renderQueue = DispatchQueue(label: "breakerd.http.render")

    private func readyz() -> HTTPResponse {
        let registry = self.registry
        let reasons = readiness.reasons(store: registry.storeStats, gate: registry.gate, at: registry.clock.elapsed())
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("ready", reasons.isEmpty)
        if !reasons.isEmpty {
            w.key("reasons")
            w.beginArray()
            for reason in reasons { w.string(reason) }
            w.endArray()
        }
        w.endObject()
        return .json(reasons.isEmpty ? .ok : .serviceUnavailable, w.bytes + [UInt8(ascii: "\n")])
    }
}

/// True for the first caller only: the scrape answers once, whichever of the refresh and the
/// timeout comes first.
final class Once: Sendable {
    private let claimed = Atomic<Bool>(false)
    func claim() -> Bool { !claimed.exchange(true, ordering: .acquiringAndReleasing) }
}
