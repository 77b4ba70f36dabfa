/// Every setting of breakerd, in the order `--print-config`, `--help` and README show them.
/// A setting is added here and nowhere else (plus its `DaemonConfig` property); README's flag
/// table is `breakerd --print-settings-markdown`, and a test keeps the two equal.
extension DaemonSetting {
    static let all: [DaemonSetting] = [
        .text("host", \.host, what: "address", help: "address to listen on"),
        .integer("port", \.port, 0...65_535, help: "protocol port (0 picks a free one; the chosen port is printed)"),
        .text("db", \.db, what: "path", nonEmpty: true, help: "database file; its folder is created, the file gets mode 0600"),
        .text("http_host", \.httpHost, what: "address", help: "address of `/metrics` and the health endpoints"),
        .integer("http_port", \.httpPort, 0...65_535, help: "port of `/metrics` and the health endpoints (0 picks a free one)"),
        .integer("cache_ms", \.cacheMs, 0...Int64.max, help: "how long clients may reuse a CLOSED decision"),
        .choice("synchronous", \.synchronous, help: "SQLite's synchronous mode: `normal` survives a crash of breakerd, `full` also power loss (an fsync per commit)"),
        .integer("max_line_length", \.maxLineLength, 1024...Int64.max, help: "longest request line (longer: `line_too_long`, connection closed)"),
        .integer("max_breakers", \.maxBreakers, 1...Int64.max, help: "most breakers held; a new name beyond it gets `overloaded`, existing breakers keep working"),
        .integer("max_connections", \.maxConnections, 1...Int64.max, help: "most open protocol connections; extra ones get one `overloaded` reply and are closed"),
        .integer("max_in_flight", \.maxInFlight, 1...1_000_000,
                 help: "replies one connection may have outstanding; beyond it the daemon stops reading that connection (backpressure)"),
        .integer("idle_timeout_ms", \.idleTimeoutMs, 0...Int64.max, note: "0 disables it",
                 help: "close a connection that sends nothing for this long, unless it is watching; `0` never"),
        .integer("dedupe_window_ms", \.dedupeWindowMs, 1...604_800_000, note: "a week", help: "how long a record's `dedupe` key is remembered (survives restarts)"),
        .integer("max_dedupe_keys", \.maxDedupeKeys, 0...Int64.max, note: "0 turns dedupe off",
                 help: "most `dedupe` keys remembered at once (all breakers; in memory, in the database and loaded at start; about 400 bytes each); beyond it a record is still counted but its key not remembered, so a retry of it may count twice (`breakerd_dedupe_keys_dropped_total`, gauge `breakerd_dedupe_keys`); `0` turns dedupe off (keys accepted and ignored)"),
        .integer("max_metric_series", \.maxMetricSeries, 0...Int64.max,
                 help: "label cardinality cap of `/metrics`: per-breaker series beyond it (13 per breaker: state, 3 call results, 9 transition kinds; not-closed breakers kept first) are left out and counted in `breakerd_metric_series_dropped_total`"),
        .integer("threads", \.threads, 1...Int64.max, shownDefault: "one per core",
                 help: "event loop threads (the protocol's epoll loops, and as many NIO loops for HTTP, TLS and timers)"),
        .choice("io", \.io, shownDefault: "epoll on Linux, else nio",
                help: "what serves plain-TCP protocol connections: `epoll`, the daemon's own event loops (faster: see [BENCHMARKS.md](BENCHMARKS.md)), or `nio`, SwiftNIO channels; TLS connections always use `nio`"),
        .choice("log_level", \.logLevel, help: "the least severe events logged"),
        .choice("log_format", \.logFormat, help: "one line per event on stderr"),
        .path("admin_token_file", \.adminTokenFile,
              help: "file of `name:token` lines (mode 600; each token at least 16 bytes); when set, `configure`, `reset`, `force-open` and `release` need an authenticated connection (see [Operate it](#operate-it))"),
        .integer("shutdown_timeout_ms", \.shutdownTimeoutMs, 0...600_000, help: "how long SIGTERM lets in-flight requests finish"),
        .path("tls_cert", \.tlsCert,
              help: "PEM certificate chain: the protocol listener (and the HTTP one, see `--http-tls`) speaks TLS 1.2+ only; needs `--tls-key` (see [TLS](#tls))"),
        .path("tls_key", \.tlsKey, help: "PEM private key of `--tls-cert`"),
        .path("tls_client_ca", \.tlsClientCA, help: "PEM CA bundle: protocol clients must present a certificate it signed (mutual TLS)"),
        .toggle("http_tls", \.httpTLS, help: "with `--tls-cert`, serve `/metrics` and the health endpoints over TLS too (never with client certificates)"),
        .toggle("ui", \.ui, help: "serve the live status page on the HTTP port (`GET /`, `/events`, `/api/…`); `--no-ui` turns it off"),
        .optionalText("postgres_url", \.postgresURL, what: "URL", environment: "BREAKERD_POSTGRES_URL",
                      help: "keep breakers in PostgreSQL instead of SQLite (`--db` is then unused): `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]` (MODE: `disable`, `require` or `verify-full`), or several separated by commas, tried in order for the first primary; daemons with the same URL and `--cluster` are one service with one leader (see [Run more than one](#run-more-than-one))"),
        .path("postgres_password_file", \.postgresPasswordFile,
              help: "file whose first line is the PostgreSQL password, for URLs that carry none"),
        .text("cluster", \.cluster, what: "name", nonEmpty: true,
              help: "with `--postgres-url`: daemons with the same cluster name (and database) elect one leader"),
        .optionalText("advertise", \.advertise, what: "HOST:PORT", shownDefault: "`--host`:`--port`",
                      help: "with `--postgres-url`: the protocol address this daemon publishes while it leads, which standbys name in `not_leader` errors; needed when `--host` is a wildcard"),
        .duration("leader_lease", \.leaderLease, 200...60_000,
                  help: "with `--postgres-url`: a leader renews its lease every quarter of this and stops serving once its last confirmed renewal is older; PostgreSQL ends a frozen leader's session after as long"),
    ]

    /// The settings by config-file key and by flag (`DaemonCommandLine` reads `--no-` itself).
    static let byKey = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
    static let byFlag = Dictionary(uniqueKeysWithValues: all.map { ($0.flag, $0) })
}
