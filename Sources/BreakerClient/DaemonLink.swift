import BreakerLine
import BreakerTLS
import BreakerWire
import Logging
import NIOCore
import BreakerSync
import struct Synchronization.Atomic

/// A connection to breakerd that keeps itself alive: it connects, runs `prepare` (e.g. sends
/// `watch`), publishes the connection as ready, and when it closes — killed daemon, timeout,
/// garbage, failed heartbeat — tries again after a jittered exponential backoff, forever,
/// until `shutdown()`.
///
/// Callers never wait for a link: `connection` is the ready connection or nil, read under a
/// lock, and a caller finding nil falls back at once.
final class DaemonLink: Sendable {
    struct Hooks: Sendable {
        /// Runs on each new connection before it is published; throwing drops it.
        var prepare: @Sendable (DaemonConnection) async throws -> Void = { _ in }
        /// Runs after a connection is published.
        var up: @Sendable () -> Void = {}
        /// Runs after a published connection closed; `stopping` when `stop()` closed it.
        var down: @Sendable (_ stopping: Bool) -> Void = { _ in }
        var onEvent: @Sendable (Event) -> Void = { _ in }
    }

    let label: String
    private let configuration: BreakerClient.Configuration
    private let tls: LineTLS?
    private let telemetry: ClientTelemetry
    private let current = Mutex<DaemonConnection?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let stopped = Atomic<Bool>(false)

    /// Set once the first connection attempt has ended, either way.
    let triedOnce = Atomic<Bool>(false)
    private let tried = Waiters<Void>()
    private let published = Waiters<DaemonConnection>()

    /// How long the connection may be silent before it is pinged (nil: never).
    private let silenceBeforePing: Duration?

    let endpoints: DaemonEndpoints
    /// Set when a `not_leader` answer closed the connection: the next try goes at once.
    private let redirected = Atomic<Bool>(false)

    init(label: String, configuration: BreakerClient.Configuration, endpoints: DaemonEndpoints, tls: LineTLS?,
         telemetry: ClientTelemetry, silenceBeforePing: Duration?) {
        self.label = label
        self.endpoints = endpoints
        self.silenceBeforePing = silenceBeforePing
        self.configuration = configuration
        self.tls = tls
        self.telemetry = telemetry
    }

    /// The ready connection, or nil while (re)connecting.
    var connection: DaemonConnection? { current.withLock { $0 } }

    /// Returns once the first connection try has ended (either way), or `timeout` has passed.
    func waitForFirstTry(timeout: Duration) async {
        _ = await tried.wait(timeout: timeout, on: configuration.eventLoopGroup.next()) {
            triedOnce.load(ordering: .sequentiallyConsistent) ? () : nil
        }
    }

    /// The ready connection, waiting up to `timeout` for one while (re)connecting; nil if none came.
    func readyConnection(timeout: Duration) async -> DaemonConnection? {
        await published.wait(timeout: timeout, on: configuration.eventLoopGroup.next()) { connection }
    }

    func start(hooks: Hooks) {
        let task = Task { [self] in await self.run(hooks) }
        self.task.withLock { $0 = task }
    }

    /// Closes the connection and stops reconnecting, without waiting.
    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        self.task.withLock { $0 }?.cancel()
        current.withLock { $0 }?.close()
    }

    /// Stops, and returns when the reconnection loop has ended.
    func shutdown() async {
        stop()
        await task.withLock { $0 }?.value
    }

    private func run(_ hooks: Hooks) async {
        var failures = 0
        let logger = {
            var logger = configuration.logger
            logger[metadataKey: "connection"] = "\(label)"
            return logger
        }()
        var redirects = 0
        while !stopped.load(ordering: .sequentiallyConsistent) && !Task.isCancelled {
            var published = false
            let endpoint = endpoints.current
            let tls = self.tls.map {
                LineTLS(context: $0.context, serverHostname: ClientTLS.serverHostname(host: endpoint.host, override: configuration.tlsServerName))
            }
            do {
                let connection = try await DaemonConnection.connect(
                    host: endpoint.host, port: endpoint.port, tls: tls, group: configuration.eventLoopGroup,
                    connectTimeout: MonotonicClock.timeAmount(configuration.connectTimeout),
                    maxLineLength: configuration.maxLineLength, onEvent: hooks.onEvent,
                    onViolation: { [telemetry] message in
                        telemetry.count(.protocolViolations)
                        logger.warning("breakerd sent a line protocol v1 does not allow; reconnecting", metadata: ["problem": "\(message)"])
                    })
                do {
                    try await hooks.prepare(connection)
                } catch {
                    connection.close()
                    throw error
                }
                current.withLock { $0 = connection }
                self.published.resumeAll(connection)
                published = true
                if stopped.load(ordering: .sequentiallyConsistent) { connection.close() }
                telemetry.count(.connects)
                endpoints.worked(endpoint)
                logger.debug("connected to breakerd", metadata: ["daemon": "\(endpoint)"])
                failures = 0
                triedOnce.store(true, ordering: .sequentiallyConsistent)
                tried.resumeAll(())
                hooks.up()
                if let silence = silenceBeforePing {
                    connection.keepAlive(silence: MonotonicClock.timeAmount(silence),
                                         timeout: MonotonicClock.timeAmount(configuration.requestTimeout))
                }
                try? await connection.closed.get()
                current.withLock { $0 = nil }
                hooks.down(stopped.load(ordering: .sequentiallyConsistent))
            } catch let error as BreakerClientError where error.code == .notLeader {
                redirect(leader: error.leader, from: endpoint)  // `watch` or `hello` refused by a standby
            } catch let error as TLSHandshakeFailure {
                // Not a daemon that is down: a certificate or configuration problem, which
                // retrying will not mend. Said loudly once per streak of failures.
                if failures == 0 { logger.warning("cannot reach breakerd: TLS handshake failed", metadata: ["error": "\(error)"]) }
            } catch {
                logger.debug("cannot reach breakerd", metadata: ["error": "\(error)"])
            }
            triedOnce.store(true, ordering: .sequentiallyConsistent)
            tried.resumeAll(())
            if stopped.load(ordering: .sequentiallyConsistent) { break }
            // Straight to the leader a standby named; a chain of redirects without a working
            // connection backs off like any failure (standbys naming each other, say).
            if redirected.exchange(false, ordering: .sequentiallyConsistent), redirects < 3 {
                redirects += 1
                continue
            }
            redirects = 0
            if !published {
                failures += 1
                endpoints.failed(endpoint)
            }
            let delay = configuration.reconnectBackoff.delay(afterFailures: max(1, failures))
            try? await Task.sleep(for: delay)
        }
        current.withLock { $0 }?.close()
        current.withLock { $0 = nil }
    }

    /// The daemon answered `not_leader`: the next connection goes to `leader`, or to the next
    /// endpoint when it named none; `connection`, if given, is closed (its requests fail and
    /// records are resent on the next one).
    func redirect(leader: String?, from endpoint: BreakerClient.Endpoint, closing connection: DaemonConnection? = nil) {
        if leader.map({ endpoints.redirect(to: $0) }) != true { endpoints.failed(endpoint) }
        telemetry.count(.leaderRedirects)
        configuration.logger.info("breakerd is not the leader; following it",
                                  metadata: ["connection": "\(label)", "daemon": "\(endpoint)", "leader": "\(leader ?? "unknown")"])
        redirected.store(true, ordering: .sequentiallyConsistent)
        connection?.close()
    }
}
