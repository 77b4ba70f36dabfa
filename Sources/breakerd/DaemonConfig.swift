import BreakerCore
import BreakerServer
import BreakerStore
import BreakerTLS
import Logging
import NIOCore

/// Everything that decides how breakerd runs, after built-in defaults, the config file and the
/// flags have been layered (in that order: a flag beats the file, the file beats the default).
/// `breakerd --print-config` prints it in the config file's own format.
struct DaemonConfig: Sendable, Equatable {
    enum LogFormat: String, Sendable, CaseIterable {
        case text
        case json
    }

    /// A per-prefix rule as written in the file: `preset` is kept so the printed config says
    /// where the numbers came from.
    struct Rule: Sendable, Equatable {
        var prefix: String
        var preset: BreakerPreset?
        var config: BreakerConfig
    }

    var host = "127.0.0.1"
    var port = 7420
    var db = "./data/breakerd.sqlite3"
    var httpHost = "127.0.0.1"
    var httpPort = 7421
    var cacheMs: Int64 = 100
    var synchronous: SynchronousMode = .normal
    var maxLineLength = 65_536
    /// A new breaker name beyond this many gets `overloaded`.
    var maxBreakers = 1_000_000
    /// Connections beyond this get `overloaded` and are closed.
    var maxConnections = 10_000
    /// Replies a connection may have outstanding before the daemon stops reading from it.
    var maxInFlight = 1024
    /// A connection that sends nothing for this long (and is not watching) is closed; 0: never.
    var idleTimeoutMs: Int64 = 300_000
    /// How long a record's `dedupe` key is remembered (across restarts).
    var dedupeWindowMs: Int64 = 600_000
    /// Dedupe keys remembered at most, daemon-wide (memory and the record_dedupe table); beyond
    /// it a record is counted but its key not remembered. 0: dedupe off, keys ignored.
    var maxDedupeKeys = 500_000
    /// Per-breaker series in /metrics beyond this are left out (and counted).
    var maxMetricSeries = 100_000
    var threads = System.coreCount
    /// What serves plain-TCP protocol connections (TLS ones always use NIO).
    var io = BreakerServer.IO.platformDefault
    var logLevel: Logger.Level = .info
    var logFormat: LogFormat = .text
    /// `name:token` lines; when set, admin ops need an authenticated connection (`Daemon` loads it).
    var adminTokenFile: String?
    /// TLS for the protocol listener (and the HTTP one, unless `httpTLS` is false): PEM files,
    /// re-read on SIGHUP.
    var tlsCert: String?
    var tlsKey: String?
    /// Clients of the protocol listener must present a certificate this CA signed (mutual TLS).
    /// The HTTP listener never asks for one: kubelet probes cannot present one.
    var tlsClientCA: String?
    /// Whether /metrics and the health endpoints are served over TLS when `tlsCert` is set.
    var httpTLS = true
    /// Whether the HTTP listener serves the live status page (`GET /`, `/events`, `/api/…`).
    var ui = true
    /// PostgreSQL instead of SQLite: one URL or several, comma-separated (see `DaemonConfig+Postgres`).
    var postgresURL: String?
    var postgresPasswordFile: String?
    /// Daemons of one PostgreSQL database with the same cluster name elect one leader.
    var cluster = "default"
    /// The HOST:PORT a leader publishes; nil: `host`:the bound port.
    var advertise: String?
    /// How long a leader serves after its last confirmed heartbeat (renewed every quarter of it).
    var leaderLease: Duration = .seconds(2)
    /// How long SIGTERM waits for in-flight requests before closing connections by force.
    var shutdownTimeoutMs: Int64 = 10_000
    /// The config of breakers created implicitly, when no rule matches.
    var defaultBreaker: BreakerConfig = .default
    var defaultPreset: BreakerPreset?
    var rules: [Rule] = []

    /// Checks what the types cannot; the first problem is reported. A range error names the
    /// flag for a setting in `flagsGiven` (keys), else the config key.
    func validate(flagsGiven: Set<String> = []) throws(DaemonConfigError) {
        for setting in DaemonSetting.all {
            try setting.check(self, name: flagsGiven.contains(setting.key) ? setting.flag : setting.key)
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw DaemonConfigError("tls_cert and tls_key go together: give both or neither")
        }
        guard tlsClientCA == nil || tlsCert != nil else {
            throw DaemonConfigError("tls_client_ca needs tls_cert and tls_key (mutual TLS is TLS first)")
        }
        try validatePostgres()
        do throws(ConfigError) {
            try defaultBreaker.validate()
        } catch {
            throw DaemonConfigError("default_breaker: \(error.message)")
        }
        for (index, rule) in rules.enumerated() {
            do throws(ConfigError) {
                try rule.config.validate()
            } catch {
                throw DaemonConfigError("rules[\(index)] (\(rule.prefix)): \(error.message)")
            }
        }
    }

    /// The listeners' TLS files, when TLS is on.
    var tlsFiles: (protocol: TLSFiles, http: TLSFiles?)? {
        guard let tlsCert, let tlsKey else { return nil }
        let files = TLSFiles(certificateChain: tlsCert, privateKey: tlsKey)
        var protocolFiles = files
        protocolFiles.clientCA = tlsClientCA
        return (protocolFiles, httpTLS ? files : nil)
    }

    /// The registry's view: default config and prefix rules, first match wins.
    var registrySettings: BreakerRegistry.Settings {
        var settings = BreakerRegistry.Settings()
        settings.closedCacheMs = cacheMs
        settings.defaultConfig = defaultBreaker
        settings.maxBreakers = maxBreakers
        settings.dedupeWindowMs = dedupeWindowMs
        settings.maxDedupeKeys = maxDedupeKeys
        settings.rules = rules.map { BreakerRule(prefix: $0.prefix, config: $0.config) }
        return settings
    }
}

/// A config file or flag value that cannot be used, with the key it concerns.
struct DaemonConfigError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
