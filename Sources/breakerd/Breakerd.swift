import ArgumentParser
import BreakerServer
import BreakerStore
import Logging
import NIOCore

/// The command line. Every option is optional here so that a flag given can be told from a flag
/// left out: defaults live in `DaemonConfig`, a `--config` file overrides them, and flags given
/// override the file.
@main
struct Breakerd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakerd",
        abstract: "Shared circuit breakers over newline-delimited JSON, persisted in SQLite.",
        version: BreakerServer.version
    )

    @Option(help: "JSON config file (see README, Configuration); flags override it.")
    var config: String?

    @Flag(name: .customLong("print-config"), help: "Print the effective config as JSON and exit.")
    var printConfig = false

    @Option(help: "Address to listen on for the protocol. (default: 127.0.0.1)")
    var host: String?

    @Option(help: "TCP port for the protocol (0 picks a free one). (default: 7420)")
    var port: Int?

    @Option(help: "SQLite database file; its folder is created if missing. (default: ./data/breakerd.sqlite3)")
    var db: String?

    @Option(name: .customLong("http-host"), help: "Address for /metrics and health endpoints. (default: 127.0.0.1)")
    var httpHost: String?

    @Option(name: .customLong("http-port"), help: "Port for /metrics and health endpoints (0 picks a free one). (default: 7421)")
    var httpPort: Int?

    @Option(name: .customLong("cache-ms"), help: "cache_ms handed out with CLOSED decisions. (default: 100)")
    var cacheMs: Int64?

    @Option(name: .customLong("max-line-length"), help: "Longest request line in bytes. (default: 65536)")
    var maxLineLength: Int?

    @Option(name: .customLong("max-breakers"), help: "Most breakers held; a new name beyond it gets overloaded. (default: 1000000)")
    var maxBreakers: Int?

    @Option(name: .customLong("max-connections"), help: "Most open connections; extra ones get overloaded and are closed. (default: 10000)")
    var maxConnections: Int?

    @Option(name: .customLong("max-in-flight"), help: "Replies one connection may have outstanding before the daemon stops reading it. (default: 1024)")
    var maxInFlight: Int?

    @Option(name: .customLong("idle-timeout-ms"), help: "Close a connection that sends nothing for this long, unless it is watching; 0 never. (default: 300000)")
    var idleTimeoutMs: Int64?

    @Option(name: .customLong("dedupe-window-ms"), help: "How long a record's dedupe key is remembered, across restarts. (default: 600000)")
    var dedupeWindowMs: Int64?

    @Option(name: .customLong("max-dedupe-keys"), help: "Most record dedupe keys remembered; beyond it a record is counted but its key is not remembered (a retry may count twice); 0 turns dedupe off. (default: 500000)")
    var maxDedupeKeys: Int?

    @Option(name: .customLong("max-metric-series"), help: "Most per-breaker series in /metrics (9 per breaker; not-closed breakers first); the rest are counted in breakerd_metric_series_dropped_total. (default: 100000)")
    var maxMetricSeries: Int?

    @Option(help: "SQLite synchronous mode: normal (survives a crash of breakerd) or full (survives power loss). (default: normal)")
    var synchronous: SynchronousMode?

    @Option(help: "Event loop threads. (default: one per core)")
    var threads: Int?

    @Option(help: "What serves plain-TCP protocol connections: epoll (the daemon's own event loops, Linux) or nio; TLS always uses nio. (default: epoll on Linux)")
    var io: BreakerServer.IO?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    var logLevel: Logger.Level?

    @Option(name: .customLong("log-format"), help: "text or json, one line per event on stderr. (default: text)")
    var logFormat: DaemonConfig.LogFormat?

    @Option(name: .customLong("admin-token-file"), help: "File of name:token lines (mode 600); when set, configure/reset/force-open/release need {\"op\":\"auth\"} first. (default: none)")
    var adminTokenFile: String?

    @Option(name: .customLong("shutdown-timeout-ms"), help: "On SIGTERM, how long in-flight requests may take before connections are closed. (default: 10000)")
    var shutdownTimeoutMs: Int64?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: the protocol (and HTTP) listener speaks TLS only; re-read on SIGHUP. Needs --tls-key. (default: none)")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert. (default: none)")
    var tlsKey: String?

    @Option(name: .customLong("tls-client-ca"), help: "PEM CA bundle: protocol clients must present a certificate it signed (mutual TLS). (default: none)")
    var tlsClientCA: String?

    @Flag(name: .customLong("http-tls"), inversion: .prefixedNo, help: "With --tls-cert, serve /metrics and health endpoints over TLS too. (default: on)")
    var httpTLS: Bool?

    @Flag(name: .customLong("ui"), inversion: .prefixedNo, help: "Serve the live status page (GET / on the HTTP port, with /events and /api/…). (default: on)")
    var ui: Bool?

    /// Defaults, then the file, then the flags given.
    func effectiveConfig() throws(DaemonConfigError) -> DaemonConfig {
        var effective = DaemonConfig()
        if let config { try effective.apply(file: config) }
        if let host { effective.host = host }
        if let port { effective.port = port }
        if let db { effective.db = db }
        if let httpHost { effective.httpHost = httpHost }
        if let httpPort { effective.httpPort = httpPort }
        if let cacheMs { effective.cacheMs = cacheMs }
        if let maxLineLength { effective.maxLineLength = maxLineLength }
        if let maxBreakers { effective.maxBreakers = maxBreakers }
        if let maxConnections { effective.maxConnections = maxConnections }
        if let maxInFlight { effective.maxInFlight = maxInFlight }
        if let idleTimeoutMs { effective.idleTimeoutMs = idleTimeoutMs }
        if let dedupeWindowMs { effective.dedupeWindowMs = dedupeWindowMs }
        if let maxDedupeKeys { effective.maxDedupeKeys = maxDedupeKeys }
        if let maxMetricSeries { effective.maxMetricSeries = maxMetricSeries }
        if let synchronous { effective.synchronous = synchronous }
        if let threads { effective.threads = threads }
        if let io { effective.io = io }
        if let logLevel { effective.logLevel = logLevel }
        if let logFormat { effective.logFormat = logFormat }
        if let adminTokenFile { effective.adminTokenFile = adminTokenFile }
        if let shutdownTimeoutMs { effective.shutdownTimeoutMs = shutdownTimeoutMs }
        if let tlsCert { effective.tlsCert = tlsCert }
        if let tlsKey { effective.tlsKey = tlsKey }
        if let tlsClientCA { effective.tlsClientCA = tlsClientCA }
        if let httpTLS { effective.httpTLS = httpTLS }
        if let ui { effective.ui = ui }
        try effective.validate()
        return effective
    }

    func run() async throws {
        let effective: DaemonConfig
        do {
            effective = try effectiveConfig()
        } catch {
            printError("breakerd: \(error.description)")
            throw ExitCode.validationFailure
        }
        if printConfig {
            print(effective.json.pretty())
            return
        }
        try await Daemon(config: effective).run()
    }
}

extension SynchronousMode: ExpressibleByArgument {}
extension BreakerServer.IO: ExpressibleByArgument {}
extension DaemonConfig.LogFormat: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
