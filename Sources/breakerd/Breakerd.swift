import ArgumentParser
import BreakerCore
import BreakerServer
import BreakerStore
import Dispatch
import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

@main
struct Breakerd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakerd",
        abstract: "Shared circuit breakers over newline-delimited JSON, persisted in SQLite.",
        version: BreakerServer.version
    )

    @Option(help: "Address to listen on for the protocol.")
    var host = "127.0.0.1"

    @Option(help: "TCP port for the protocol (0 picks a free one).")
    var port = 7420

    @Option(help: "SQLite database file; its folder is created if missing.")
    var db = "./data/breakerd.sqlite3"

    @Option(name: .customLong("http-port"), help: "Port for /metrics and health endpoints.")
    var httpPort = 7421

    @Option(name: .customLong("cache-ms"), help: "cache_ms handed out with CLOSED decisions.")
    var cacheMs: Int64 = 100

    @Option(name: .customLong("max-line-length"), help: "Longest request line in bytes.")
    var maxLineLength = 65_536

    @Option(help: "SQLite synchronous mode: normal (survives a crash of breakerd) or full (survives power loss).")
    var synchronous: SynchronousMode = .normal

    @Option(help: "Event loop threads (default: one per core).")
    var threads = System.coreCount

    @Option(name: .customLong("admin-token-file"), help: "File of name:token lines; when set, configure/reset/force-open/release need {\"op\":\"auth\"} first.")
    var adminTokenFile: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (0...65_535).contains(port), (0...65_535).contains(httpPort) else { throw ValidationError("ports must be 0...65535") }
        guard cacheMs >= 0 else { throw ValidationError("--cache-ms must not be negative") }
        guard maxLineLength >= 1024 else { throw ValidationError("--max-line-length must be at least 1024") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        var logger = Logger(label: "breakerd")
        logger.logLevel = logLevel
        raiseFileLimit()

        var adminTokens: AdminTokens?
        if let adminTokenFile {
            do {
                adminTokens = try AdminTokens.load(path: adminTokenFile)
            } catch {
                printError("breakerd: \(error)")
                throw ExitCode(1)
            }
        } else if !Self.isLoopback(host) {
            logger.warning("listening on a non-loopback address without --admin-token-file: anyone who can connect may reset, configure or force breakers", metadata: ["host": "\(host)"])
        }

        let started = DaemonClock()
        let startNanos = DispatchTime.now().uptimeNanoseconds
        let database: BreakerDatabase
        do {
            database = try BreakerDatabase(path: db, synchronous: synchronous, logger: logger)
        } catch {
            logger.critical("cannot open database", metadata: ["path": "\(db)", "code": "\(error.code.rawValue)"])
            printError("breakerd: \(error.message)")
            throw ExitCode(1)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var settings = BreakerRegistry.Settings()
        settings.closedCacheMs = cacheMs
        let registry: BreakerRegistry
        do {
            registry = try BreakerRegistry(database: database, settings: settings, clock: started,
                                           timers: group.next(), logger: logger)
        } catch {
            printError("breakerd: \(error.message)")
            throw ExitCode(1)
        }
        var configuration = BreakerServer.Configuration()
        configuration.host = host
        configuration.port = port
        configuration.maxLineLength = maxLineLength
        configuration.adminTokens = adminTokens
        let server: BreakerServer
        do {
            server = try await BreakerServer.start(configuration: configuration, registry: registry, group: group, logger: logger)
        } catch {
            registry.shutdown()
            printError("breakerd: cannot listen on \(host):\(port): \(error)")
            throw ExitCode(1)
        }
        let loadMs = (DispatchTime.now().uptimeNanoseconds - startNanos) / 1_000_000
        logger.info("breakerd started", metadata: [
            "version": "\(BreakerServer.version)", "listen": "\(server.localAddress)", "database": "\(db)",
            "breakers": "\(registry.breakerCount)", "load_ms": "\(loadMs)",
        ])
        // A line on stdout that scripts and tests can wait for.
        print("breakerd listening on \(host):\(server.localAddress.port ?? port)")
        fflush(nil)

        let signal = await Self.waitForTermination()
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        await server.stop()
        registry.shutdown()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// Waits for SIGTERM or SIGINT.
    private static func waitForTermination() async -> Int32 {
        // A parent may have left these blocked in the mask we inherit.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        sigaddset(&blocked, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &blocked, nil)
        return await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "breakerd.signals")
            let once = OnceFlag()
            var sources: [any DispatchSourceSignal] = []
            for sig in [SIGTERM, SIGINT] {
                Glibc.signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                source.setEventHandler {
                    if once.claim() { continuation.resume(returning: sig) }
                }
                source.resume()
                sources.append(source)
            }
            SignalSources.keep(sources)
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Many clients mean many sockets: lift the soft descriptor limit to the hard one.
    private func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

extension SynchronousMode: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
