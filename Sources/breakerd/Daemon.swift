import ArgumentParser
import BreakerHTTP
import BreakerPostgres
import BreakerServer
import BreakerStore
import BreakerTLS
import Dispatch
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// One run of breakerd: bootstrap logging and metrics, open the database, bind both listeners,
/// then hand the lifecycle to a `ServiceGroup` that turns SIGTERM/SIGINT into an ordered,
/// bounded shutdown (see `DaemonPart`).
struct Daemon {
    let config: DaemonConfig

    static let protocolListener = "protocol"
    static let httpListener = "http"

    func run() async throws {
        let format = config.logFormat, level = config.logLevel
        LoggingSystem.bootstrap { ConsoleLogHandler(label: $0, format: format, level: level) }
        let logger = Logger(label: "breakerd")
        // Before the registry exists: libraries bind their metrics to the factory when created.
        let metrics = PrometheusBackend.bootstrap()
        raiseFileLimit()
        unblockTerminationSignals()

        var adminTokens: AdminTokens?
        if let path = config.adminTokenFile {
            do {
                adminTokens = try AdminTokens.load(path: path)
            } catch {
                logger.critical("cannot load admin tokens", metadata: ["path": "\(path)"])
                printError("breakerd: \(error)")
                throw ExitCode(1)
            }
        } else if !Self.isLoopback(config.host) {
            logger.warning("listening on a non-loopback address without --admin-token-file: anyone who can connect may configure, reset or force breakers",
                           metadata: ["host": "\(config.host)"])
        }

        let tls = try TLSReload.load(config, logger: logger)
        if tls == nil, !Self.isLoopback(config.host) {
            logger.warning("listening on a non-loopback address without --tls-cert: requests, replies and admin tokens cross the network in plain text",
                           metadata: ["host": "\(config.host)"])
        }

        let startNanos = DispatchTime.now().uptimeNanoseconds
        let group = MultiThreadedEventLoopGroup(numberOfThreads: config.threads)
        // The daemon's one clock, handed to everything that needs time (see SystemClock).
        let clock = SystemClock(timers: group.next())
        let election = try await startElection(clock: clock, logger: logger)
        let serving = try election?.serving ?? ServingRegistry(openSQLite(clock: clock, logger: logger))
        let readiness = Readiness(listeners: [Self.protocolListener, Self.httpListener])
        let (server, http, endpoints) = try await bind(serving: serving, readiness: readiness, metrics: metrics,
                                                       adminTokens: adminTokens, tls: tls, group: group, logger: logger)
        election?.attach(.init(server: server, endpoints: endpoints,
                               advertise: config.advertisedAddress(boundPort: server.localAddress.port ?? config.port)))
        // Always handled: `systemctl reload` (SIGHUP) must never kill a daemon without TLS.
        let hangup = TLSReload.onHangup(
            reloading: tls.map { [(Self.protocolListener, $0.protocol)] + ($0.http.map { [(Self.httpListener, $0)] } ?? []) } ?? [],
            logger: logger)
        defer { hangup.cancel() }
        let loadMs = (DispatchTime.now().uptimeNanoseconds - startNanos) / 1_000_000
        logger.info("breakerd started", metadata: [
            "version": "\(BreakerServer.version)", "listen": "\(config.host):\(server.localAddress.port ?? config.port)",
            "http": "\(config.httpHost):\(http.localAddress.port ?? config.httpPort)",
            "database": "\(election.map { "\($0.settings.urls.map(\.description).joined(separator: ","))" } ?? config.db)",
            "breakers": "\(serving.registry.breakerCount)", "load_ms": "\(loadMs)", "rules": "\(config.rules.count)",
            "admin_tokens": "\(adminTokens?.names.count ?? 0)", "io": "\(server.io.rawValue)",
            "tls": "\(tls.map { $0.protocol.requiresClientCertificates ? "mutual" : "on" } ?? "off")",
        ])

        let timeout = Duration.milliseconds(config.shutdownTimeoutMs)
        // ServiceGroup shuts parts down in reverse order: HTTP, then the protocol, then the store.
        let parts = [
            DaemonPart(name: "store", logger: logger) {
                await election?.stop()  // a leader commits what is pending and lets the lease go
                serving.registry.shutdown()  // commits what is pending, closes SQLite
                try? await group.shutdownGracefully()
            },
            DaemonPart(name: "protocol", logger: logger, onStart: {
                // Printed only now, once ServiceGroup traps SIGTERM: scripts and tests that wait
                // for this line may signal at once.
                print("breakerd http on \(config.httpHost):\(http.localAddress.port ?? config.httpPort)")
                print("breakerd listening on \(config.host):\(server.localAddress.port ?? config.port)")
                fflush(nil)
            }) {
                let forced = await server.shutdownGracefully(timeout: timeout)
                if forced > 0 { logger.warning("closed connections that were still busy", metadata: ["connections": "\(forced)"]) }
            },
            DaemonPart(name: "http", logger: logger) {
                readiness.markStopping()
                _ = await http.shutdownGracefully(timeout: .seconds(1))
            },
        ]
        let serviceGroup = ServiceGroup(configuration: .init(
            services: parts.map { .init(service: $0, serviceName: $0.name) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await serviceGroup.run()
        logger.info("stopped")
    }

    /// Binds the protocol listener, then the HTTP one; a failure of either is a clear message
    /// and exit 1, with the database closed.
    private func bind(serving: ServingRegistry, readiness: Readiness, metrics: PrometheusBackend, adminTokens: AdminTokens?,
                      tls: (protocol: ServerTLS, http: ServerTLS?)?, group: MultiThreadedEventLoopGroup,
                      logger: Logger) async throws -> (BreakerServer, HTTPServer, ObservabilityEndpoints) {
        var configuration = BreakerServer.Configuration()
        configuration.host = config.host
        configuration.port = config.port
        configuration.maxLineLength = config.maxLineLength
        configuration.maxConnections = config.maxConnections
        configuration.maxInFlightPerConnection = config.maxInFlight
        configuration.transport.idleTimeout = config.idleTimeoutMs > 0 ? .milliseconds(config.idleTimeoutMs) : nil
        configuration.adminTokens = adminTokens
        configuration.tls = tls?.protocol
        configuration.io = config.io
        let server: BreakerServer
        do {
            server = try await BreakerServer.start(configuration: configuration, serving: serving, group: group, logger: logger)
        } catch {
            serving.registry.shutdown()
            printError("breakerd: cannot listen on \(config.host):\(config.port): \(error)")
            throw ExitCode(1)
        }
        readiness.markBound(Self.protocolListener)
        var httpConfiguration = HTTPServer.Configuration()
        httpConfiguration.host = config.httpHost
        httpConfiguration.port = config.httpPort
        httpConfiguration.tls = tls?.http
        let endpoints = ObservabilityEndpoints(serving: serving, readiness: readiness, maxMetricSeries: config.maxMetricSeries,
                                               statusPage: config.ui ? StatusPageSettings(adminTokens: adminTokens) : nil,
                                               daemonMetrics: metrics.render)
        do {
            let http = try await HTTPServer.start(configuration: httpConfiguration, endpoints: endpoints, group: group, logger: logger)
            readiness.markBound(Self.httpListener)
            return (server, http, endpoints)
        } catch {
            await server.stop()
            serving.registry.shutdown()
            printError("breakerd: cannot listen for HTTP on \(config.httpHost):\(config.httpPort): \(error)")
            throw ExitCode(1)
        }
    }

    /// SQLite: open the file and load every breaker; a failure is a message and exit 1.
    private func openSQLite(clock: SystemClock, logger: Logger) throws -> BreakerRegistry {
        let database: BreakerDatabase
        do {
            database = try BreakerDatabase(path: config.db, synchronous: config.synchronous, logger: logger)
        } catch {
            logger.critical("cannot open database", metadata: ["path": "\(config.db)", "code": "\(error.code.rawValue)"])
            printError("breakerd: \(error.message)")
            throw ExitCode(1)
        }
        do {
            return try BreakerRegistry(storage: database, settings: config.registrySettings, clock: clock, logger: logger)
        } catch {
            logger.critical("cannot load breakers", metadata: ["path": "\(config.db)", "code": "\(error.code.rawValue)"])
            printError("breakerd: \(error.message)")
            throw ExitCode(1)
        }
    }

    /// PostgreSQL (`--postgres-url`): starts the election and makes its first connection. A bad
    /// URL, a wrong password, an unknown database (any error that retrying cannot cure) is a
    /// message and exit 1; an unreachable server is logged and retried while the daemon starts
    /// as a standby. nil on SQLite.
    private func startElection(clock: SystemClock, logger: Logger) async throws -> LeaderElection? {
        let urls: [PostgresURL]
        do throws(PostgresStoreError) {
            guard let parsed = try config.postgresURLs() else { return nil }
            urls = parsed
        } catch {
            logger.critical("cannot use the PostgreSQL URL", metadata: ["code": "\(error.code.rawValue)"])
            printError("breakerd: \(error.message)")
            throw ExitCode(1)
        }
        let settings = LeaderElection.Settings(urls: urls, options: config.postgresOptions, timing: .init(lease: config.leaderLease),
                                               registry: config.registrySettings)
        let election = try LeaderElection(settings: settings, clock: clock, metrics: ServerMetrics(), logger: logger)
        if let error = await election.start() {
            guard error.isRetryable else {
                logger.critical("cannot use PostgreSQL", metadata: ["code": "\(error.code.rawValue)"])
                printError("breakerd: \(error.message)")
                throw ExitCode(1)
            }
            logger.warning("PostgreSQL is not reachable yet; starting as a standby and retrying",
                           metadata: ["code": "\(error.code.rawValue)", "error": "\(error.message)"])
        }
        return election
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// A parent may have left SIGTERM/SIGINT blocked in the mask we inherit; the graceful
    /// shutdown depends on receiving them.
    private func unblockTerminationSignals() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigprocmask(SIG_UNBLOCK, &signals, nil)
    }

    /// Many clients mean many sockets: lift the soft descriptor limit to the hard one.
    private func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
