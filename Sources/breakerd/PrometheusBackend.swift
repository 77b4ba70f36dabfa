import BreakerServer
import BreakerStore
import Metrics
import Prometheus

/// breakerd's metrics backend: swift-prometheus behind swift-metrics. Only this executable picks
/// a backend; the libraries record through swift-metrics and never know which.
///
/// swift-metrics has no place for help text, and swift-prometheus writes no `# HELP` line
/// without it, so `render()` adds one per family from `help` (promtool's lint asks for it), and
/// sorts families and counter/gauge samples by name, so a scrape without traffic is byte-for-byte
/// the previous one.
struct PrometheusBackend: Sendable {
    let registry: PrometheusCollectorRegistry

    static let help: [String: String] = [
        ServerMetrics.Name.requests: "Protocol requests answered, by op and result code (ok or the error code).",
        ServerMetrics.Name.connectionsOpen: "Protocol connections open now.",
        ServerMetrics.Name.connections: "Protocol connections accepted since start.",
        ServerMetrics.Name.connectionsRejected: "Protocol connections refused because --max-connections was reached.",
        ServerMetrics.Name.breakers: "Breakers held in memory.",
        ServerMetrics.Name.databaseSize: "Bytes of the SQLite database on disk, WAL included.",
        ServerMetrics.Name.tlsFailures: "Protocol connections closed over a TLS error (failed handshakes, bad records).",
        ServerMetrics.Name.dedupeKeys: "Record dedupe keys remembered now (at most --max-dedupe-keys).",
        ServerMetrics.Name.dedupeKeysDropped: "Records whose dedupe key was not remembered because --max-dedupe-keys was reached; a retry of such a record may be counted twice.",
        StoreMetrics.Name.batches: "Group-commit batches, by result (committed or failed).",
        StoreMetrics.Name.batchSize: "Breakers written per committed group-commit batch.",
        StoreMetrics.Name.commitDuration: "Time spent committing one group-commit batch to SQLite.",
        StoreMetrics.Name.transitionsWritten: "Transition log rows committed.",
        buildInfo: "Always 1; the version label says which breakerd is running.",
        LeaderElection.leaderGauge: "1 while this daemon leads its PostgreSQL cluster and serves, else 0 (only with --postgres-url).",
        LeaderElection.changesCounter: "Times this daemon became leader or stopped being leader (only with --postgres-url).",
        LeaderElection.copyGauge: "Breakers this standby holds ready for a takeover, 0 on the leader (only with --postgres-url).",
    ]
    static let buildInfo = "breakerd_build_info"

    /// Bootstraps swift-metrics with a Prometheus factory. Must run before any library creates
    /// a metric (they bind to the factory in place when they do), so before the registry exists.
    static func bootstrap() -> PrometheusBackend {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Commits take ~10 µs to a few ms (an fsync); the default buckets start at 5 ms.
        factory.durationHistogramBuckets[StoreMetrics.Name.commitDuration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        factory.valueHistogramBuckets[StoreMetrics.Name.batchSize] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]
        MetricsSystem.bootstrap(factory)
        Gauge(label: buildInfo, dimensions: [("version", BreakerServer.version)]).record(1)
        return PrometheusBackend(registry: registry)
    }

    /// The registry's exposition with `# HELP` lines added and a stable order.
    func render() -> [UInt8] {
        var families: [(name: String, lines: [Substring])] = []
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).prefix { $0 != " " }
                families.append((String(name), [line]))
            } else if line.hasPrefix("#") || families.isEmpty {
                continue  // swift-prometheus writes no other comments; drop any rather than misplace them
            } else {
                families[families.count - 1].lines.append(line)
            }
        }
        var output = ""
        for family in families.sorted(by: { $0.name < $1.name }) {
            output += "# HELP \(family.name) \(Self.help[family.name] ?? "breakerd metric \(family.name).")\n"
            output += family.lines[0] + "\n"
            var samples = family.lines.dropFirst()
            // Histogram lines keep their bucket order; counters and gauges are single lines.
            if !family.lines[0].hasSuffix(" histogram") { samples = ArraySlice(samples.sorted()) }
            for sample in samples { output += sample + "\n" }
        }
        return Array(output.utf8)
    }
}
