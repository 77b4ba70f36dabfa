import BreakerCore
import BreakerClient
import BreakerServer
import BreakerStore
import BreakerTLS
import BreakerTestSupport
import BreakerWire
import Foundation
import Logging
import NIOCore
import NIOPosix

/// A real registry and server on 127.0.0.1 over a real SQLite file in a fresh temp folder (as
/// BreakerServerTests' TestDaemon), which can also be killed — every socket closed, as the
/// kernel does for a dead process — and restarted on the same port and file.
final class ClientTestDaemon: @unchecked Sendable {
    // @unchecked: tests drive start/kill/restart from one task at a time; nothing else mutates.
    let directory: String
    let path: String
    let settings: BreakerRegistry.Settings
    private(set) var port: Int
    private var group: MultiThreadedEventLoopGroup?
    private var registry: BreakerRegistry?
    private var server: BreakerServer?

    /// `cacheMs` is the daemon's `--cache-ms` for CLOSED decisions, `maxBreakers` its
    /// `--max-breakers`.
    /// `tls`: the listener speaks TLS (then `line()` cannot talk to it).
    /// `clock`: the daemon's time (deadlines, watch heartbeats) moves only when the test
    /// advances it; real time when nil.
    static func start(cacheMs: Int64 = 100, maxBreakers: Int? = nil, tls: ServerTLS? = nil,
                      clock: ManualClock? = nil) async throws -> ClientTestDaemon {
        var settings = BreakerRegistry.Settings()
        settings.closedCacheMs = cacheMs
        if let maxBreakers { settings.maxBreakers = maxBreakers }
        let daemon = ClientTestDaemon(settings: settings, tls: tls, clock: clock)
        try await daemon.open(port: 0)
        return daemon
    }

    private let tls: ServerTLS?
    private let clock: ManualClock?

    private init(settings: BreakerRegistry.Settings, tls: ServerTLS?, clock: ManualClock?) {
        self.tls = tls
        self.clock = clock
        directory = NSTemporaryDirectory() + "breaker-client-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/breakerd.sqlite3"
        self.settings = settings
        port = 0
    }

    private func open(port: Int) async throws {
        var logger = Logger(label: "test-daemon")
        logger.logLevel = .critical
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let database = try BreakerDatabase(path: path, logger: logger)
        let registry = try BreakerRegistry(storage: database, settings: settings,
                                           clock: clock ?? SystemClock(timers: group.next()), logger: logger)
        var configuration = BreakerServer.Configuration()
        configuration.port = port
        configuration.tls = tls
        let server = try await BreakerServer.start(configuration: configuration, registry: registry, group: group, logger: logger)
        (self.group, self.registry, self.server) = (group, registry, server)
        self.port = server.localAddress.port!
    }

    /// Every connection closed at once and the database committed and closed.
    func kill() async {
        await server?.stop()
        try? await group?.shutdownGracefully()
        registry?.shutdown()
        (group, registry, server) = (nil, nil, nil)
    }

    /// Starts again on the same port and database file.
    func restart() async throws {
        try await open(port: port)
    }

    func stop() async {
        await kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A plain socket client, to configure and inspect the daemon independently of the
    /// client under test.
    func line() throws -> LineClient { try LineClient(port: port) }

    func inspect(_ name: String) throws -> JSONValue {
        let reply = try line().request(#"{"op":"inspect","breaker":"\#(name)"}"#)
        guard let breaker = reply["breaker"] else { throw LineClient.Failure(description: "inspect failed: \(reply)") }
        return breaker
    }

    func configure(_ name: String, _ config: String) throws {
        let reply = try line().request(#"{"op":"configure","breaker":"\#(name)","config":\#(config)}"#)
        guard reply["ok"] == .bool(true) else { throw LineClient.Failure(description: "configure failed: \(reply)") }
    }
}

/// Client settings for tests: reconnection fast, so a killed daemon is noticed and a restarted
/// one found quickly; timeouts generous, because a busy 2-core CI machine running the whole
/// suite in parallel can take a few hundred milliseconds to answer even a healthy request
/// (tests about slow daemons set their own).
func testConfiguration(port: Int, fallback: BreakerClient.FallbackMode = .local,
                       _ adjust: (inout BreakerClient.Configuration) -> Void = { _ in }) -> BreakerClient.Configuration {
    var c = BreakerClient.Configuration(host: "127.0.0.1", port: port)
    c.fallback = fallback
    c.connectTimeout = .seconds(3)
    c.decisionTimeout = .seconds(3)
    c.requestTimeout = .seconds(5)
    c.heartbeatInterval = .milliseconds(200)
    // Held (until_pushed) answers only in the tests about them: elsewhere cache_ms rules.
    c.watchHeartbeat = nil
    c.reconnectBackoff = .init(initial: .milliseconds(5), maximum: .milliseconds(50))
    c.logger.logLevel = .critical
    adjust(&c)
    return c
}

/// How long a client test waits for what it does not time (a connection, a flush, a push to
/// arrive). CI runs the whole suite at once, under ThreadSanitizer, on 2 cores: hundreds of
/// started tests share Swift's 2 cooperative threads (which do not grow when a test blocks
/// one): a client that connects in milliseconds alone had not connected after 10 s there.
/// It only bounds how long a failing test takes; what a test does time has its own bound.
let patience: Duration = .seconds(60)

/// Runs `body` with a fresh daemon and a client connected to it; always shuts both down.
@discardableResult
func withDaemonAndClient<T>(cacheMs: Int64 = 100, fallback: BreakerClient.FallbackMode = .local,
                            _ adjust: (inout BreakerClient.Configuration) -> Void = { _ in },
                            _ body: (ClientTestDaemon, BreakerClient) async throws -> T) async throws -> T {
    let daemon = try await ClientTestDaemon.start(cacheMs: cacheMs)
    let client: BreakerClient
    do {
        client = try await BreakerClient(configuration: testConfiguration(port: daemon.port, fallback: fallback, adjust))
    } catch {
        await daemon.stop()
        throw error
    }
    // The client connects in the background; tests start from a connected client (one still
    // in fallback would decide their calls itself and send the daemon nothing).
    return try await withCleanup({
        guard await eventually(within: patience, { client.statistics.isDaemonAvailable }) else {
            throw LineClient.Failure(description: "the client did not reach the test daemon within \(patience)")
        }
        return try await body(daemon, client)
    }, cleanup: {
        await client.shutdown()
        await daemon.stop()
    })
}

/// Runs `body`, then `cleanup` whether or not it threw.
func withCleanup<T>(_ body: () async throws -> T, cleanup: () async -> Void) async throws -> T {
    do {
        let result = try await body()
        await cleanup()
        return result
    } catch {
        await cleanup()
        throw error
    }
}

/// The rejection `attempt()` threw, or nil when the call was allowed (that attempt is then
/// abandoned: a trial's permit goes back).
func refusal(_ breaker: Breaker) async throws -> BreakerOpenError? {
    do {
        try await breaker.attempt().abandon()
        return nil
    } catch let error as BreakerOpenError {
        return error
    }
}

/// The attempt `attempt()` granted, or nil when the breaker said no.
func granted(_ breaker: Breaker) async throws -> BreakerAttempt? {
    do {
        return try await breaker.attempt()
    } catch is BreakerOpenError {
        return nil
    }
}

struct DependencyDown: Error {}
