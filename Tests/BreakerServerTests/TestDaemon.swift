import BreakerCore
import BreakerServer
import BreakerStore
import BreakerTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix

/// A real registry and server on 127.0.0.1 port 0 over a real SQLite file in a fresh temp folder,
/// or, with `BREAKERD_TEST_STORAGE=postgres`, over a fresh database of the throwaway PostgreSQL
/// cluster, as the leader of its breakerd cluster (the same suite then runs against a
/// PostgreSQL-backed leader: `BREAKERD_TEST_STORAGE=postgres swift test --filter BreakerServerTests`).
final class TestDaemon {
    let directory: String
    let path: String
    let group: MultiThreadedEventLoopGroup
    private(set) var registry: BreakerRegistry
    private(set) var server: BreakerServer
    private let configuration: BreakerServer.Configuration
    private var settings: BreakerRegistry.Settings
    /// Drives breaker time when a test passes one (see `ManualClock`); else real time.
    let clock: ManualClock?

    var port: Int { server.localAddress.port! }

    static func start(directory: String? = nil, settings: BreakerRegistry.Settings = .init(), clock: ManualClock? = nil,
                      configure: (inout BreakerServer.Configuration) -> Void = { _ in }) async throws -> TestDaemon {
        let directory = directory ?? Self.makeTempDirectory()
        var configuration = BreakerServer.Configuration()
        configuration.port = 0
        configure(&configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let path = directory + "/breakerd.sqlite3"
        let (registry, server) = try await Self.open(path: path, configuration: configuration, settings: settings, clock: clock,
                                                     group: group)
        return TestDaemon(directory: directory, path: path, group: group, registry: registry, server: server,
                          configuration: configuration, settings: settings, clock: clock)
    }

    private init(directory: String, path: String, group: MultiThreadedEventLoopGroup, registry: BreakerRegistry,
                 server: BreakerServer, configuration: BreakerServer.Configuration, settings: BreakerRegistry.Settings,
                 clock: ManualClock?) {
        self.directory = directory
        self.path = path
        self.group = group
        self.registry = registry
        self.server = server
        self.configuration = configuration
        self.settings = settings
        self.clock = clock
    }

    private static func open(path: String, configuration: BreakerServer.Configuration, settings: BreakerRegistry.Settings,
                             clock: ManualClock?, group: MultiThreadedEventLoopGroup) async throws -> (BreakerRegistry, BreakerServer) {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let clock = clock ?? SystemClock(timers: group.next()) as any BreakerClock
        let registry: BreakerRegistry
        if let postgres = try PostgresTestStorage.leader(for: path, logger: logger) {
            registry = try BreakerRegistry(storage: postgres, settings: settings, clock: clock, logger: logger)
        } else {
            let database = try BreakerDatabase(path: path, logger: logger)
            registry = try BreakerRegistry(storage: database, settings: settings, clock: clock, logger: logger)
        }
        let server = try await BreakerServer.start(configuration: configuration, registry: registry, group: group, logger: logger)
        return (registry, server)
    }

    func client() throws -> LineClient { try LineClient(port: port) }

    /// Stops and starts again on the same file, as a daemon restart would (on a new port),
    /// with other `settings` when given (a restart after a config change).
    func restart(settings newSettings: BreakerRegistry.Settings? = nil) async throws {
        await server.stop()
        registry.shutdown()
        if let newSettings { settings = newSettings }
        (registry, server) = try await Self.open(path: path, configuration: configuration, settings: settings, clock: clock,
                                                 group: group)
    }

    func stop() async {
        await server.stop()
        registry.shutdown()
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func makeTempDirectory() -> String {
        let path = NSTemporaryDirectory() + "breakerd-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Runs `body` against a fresh daemon and always stops it.
func withDaemon<T>(settings: BreakerRegistry.Settings = .init(), clock: ManualClock? = nil,
                   configure: (inout BreakerServer.Configuration) -> Void = { _ in },
                   _ body: (TestDaemon) async throws -> T) async throws -> T {
    let daemon = try await TestDaemon.start(settings: settings, clock: clock, configure: configure)
    do {
        let result = try await body(daemon)
        await daemon.stop()
        return result
    } catch {
        await daemon.stop()
        throw error
    }
}
