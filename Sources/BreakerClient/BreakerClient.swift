@_exported import BreakerCore  // BreakerState, BreakerConfig and BreakerConfigPatch appear in this API.
import BreakerLine
import BreakerTLS
import BreakerWire
import Logging
import NIOCore
import BreakerSync
import struct Synchronization.Atomic

/// The library a service uses to guard its dependencies with breakers that live in breakerd.
///
/// One client per process is enough: it keeps one connection for decisions and pushed
/// transitions and a small pool for records, and is safe to share between tasks. Decisions are
/// cached for the daemon's `cache_ms` and dropped the moment a transition is pushed; outcomes
/// are sent in the background, folded and bounded, each with a `dedupe` key so a record resent
/// after a reconnect is counted once; and when the daemon is away, too slow or
/// talking nonsense, the configured `FallbackMode` decides, so the service never waits longer
/// than `decisionTimeout` for it and never fails because of it.
///
/// ```swift
/// let client = try await BreakerClient(host: "127.0.0.1", port: 7420)
/// let db = client.breaker("postgresql-primary")
/// let rows = try await db.run { try await query() }
/// ```
public final class BreakerClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: Configuration
    let telemetry: ClientTelemetry
    let control: DaemonLink
    let recordLinks: [DaemonLink]
    let pipeline: RecordPipeline
    private let entries = Mutex<[String: BreakerEntry]>([:])
    /// Bumped on every resync; answers from an older connection are not cached.
    let epoch: Atomic<UInt64>
    /// Whether the decision connection is up. Read (relaxed) on the outcome path.
    let available = Atomic<Bool>(false)
    /// When the last watch heartbeat arrived (client clock, ns); 0 before any.
    let lastWatchHeartbeat = Atomic<UInt64>(0)
    /// How stale the last heartbeat may be for held (`until_pushed`) answers to stay valid (ns);
    /// 0 when heartbeats are off.
    let heldAnswerBound: UInt64
    let decisionTimeout: TimeAmount
    let requestTimeout: TimeAmount
    let openCache: UInt64
    /// The time the client reads (`configuration.clock`).
    let clock: Clock

    /// Connects to breakerd at `host:port` with the default configuration, `fallback`, and
    /// `clientName` (see `Configuration.clientName`: breakers with a quorum need it).
    public convenience init(host: String = "127.0.0.1", port: Int = 7420, fallback: FallbackMode = .local,
                            clientName: String? = nil) async throws {
        try await self.init(endpoints: [Endpoint(host: host, port: port)], fallback: fallback, clientName: clientName)
    }

    /// Connects to the first answering of `endpoints` (a cluster's daemons; see
    /// `Configuration.endpoints`) with the default configuration, `fallback` and `clientName`.
    public convenience init(endpoints: [Endpoint], fallback: FallbackMode = .local,
                            clientName: String? = nil) async throws {
        var configuration = Configuration(endpoints: endpoints)
        configuration.fallback = fallback
        configuration.clientName = clientName
        try await self.init(configuration: configuration)
    }

    /// Starts the connections and waits (at most `connectTimeout` plus `decisionTimeout`) for
    /// the first one, so the first calls can be decided by the daemon. An unreachable daemon
    /// is not an error: the client starts in fallback and connects when it can. Throws only
    /// for a configuration that cannot work.
    public init(configuration: Configuration) async throws {
        try Self.validate(configuration)
        let tls = try Self.makeTLS(configuration)
        self.configuration = configuration
        clock = configuration.clock
        let telemetry = ClientTelemetry(prefix: configuration.metricsPrefix)
        self.telemetry = telemetry
        let endpoints = DaemonEndpoints(configuration.endpoints)
        control = DaemonLink(label: "decisions", configuration: configuration, endpoints: endpoints, tls: tls,
                             telemetry: telemetry, silenceBeforePing: configuration.decisionLinkSilence)
        let recordLinks = (0..<configuration.recordConnections).map {
            DaemonLink(label: "records-\($0)", configuration: configuration, endpoints: endpoints, tls: tls,
                       telemetry: telemetry, silenceBeforePing: configuration.heartbeatInterval)
        }
        self.recordLinks = recordLinks
        let epoch = Atomic<UInt64>(1)
        decisionTimeout = MonotonicClock.timeAmount(configuration.decisionTimeout)
        requestTimeout = MonotonicClock.timeAmount(configuration.requestTimeout)
        openCache = MonotonicClock.nanoseconds(configuration.inferredOpenCache)
        heldAnswerBound = configuration.watchTransitions ? configuration.watchHeartbeat.map { MonotonicClock.nanoseconds($0) &* 2 } ?? 0 : 0
        let observer = WeakBox<BreakerClient>()
        pipeline = RecordPipeline(configuration: configuration, links: recordLinks, telemetry: telemetry,
                                  currentEpoch: { observer.value?.epoch.load(ordering: .acquiring) ?? 0 },
                                  onReply: { entry, state, generation, epoch in
                                      observer.value?.observe(entry, state: state, generation: generation, epoch: epoch)
                                  })
        self.epoch = epoch
        observer.value = self
        startLinks()
        await control.waitForFirstTry(timeout: configuration.connectTimeout + configuration.decisionTimeout)
    }

    deinit {
        control.stop()
        for link in recordLinks { link.stop() }
    }

    /// A handle on the breaker `name`, created on first use. Keep it: making one takes a lock
    /// over all breakers, using one only the breaker's own. `classifier` decides what `run`
    /// counts as a failure.
    public func breaker(_ name: String, classifier: OutcomeClassifier = .default) -> Breaker {
        Breaker(client: self, entry: entry(name), classifier: classifier)
    }

    /// Sends every queued record now (folds included) and waits until the daemon has
    /// acknowledged them, for at most `timeout`. Returns false if some are still pending (the
    /// daemon is away). For shutdown and tests; services never need to wait for records.
    @discardableResult
    public func flush(timeout: Duration = .seconds(5)) async -> Bool {
        pipeline.forceFolds(true)
        defer { pipeline.forceFolds(false) }
        return await pipeline.waitUntilIdle(timeout: timeout)
    }

    /// Flushes records (for at most `requestTimeout`) and closes every connection. Calls made
    /// afterwards are decided by the fallback.
    public func shutdown() async {
        if available.load(ordering: .relaxed) { await flush(timeout: configuration.requestTimeout) }
        await control.shutdown()
        for link in recordLinks { await link.shutdown() }
        available.store(false, ordering: .relaxed)
    }

    /// The client's counters, for health pages and tests. Cache hits are not counted (see
    /// `ClientTelemetry`).
    public var statistics: Statistics {
        let t = telemetry
        let pending = pipeline.pending
        return Statistics(
            isDaemonAvailable: available.load(ordering: .relaxed), decisionRequests: t[.decisionRequests],
            fallbackDecisions: t[.fallbackDecisions], recordsSent: t[.recordsSent], outcomesSent: t[.outcomesSent],
            recordsAcknowledged: t[.recordsAcknowledged], recordsDropped: t[.recordsDropped], recordsLost: t[.recordsLost],
            recordsRejected: t[.recordsRejected], recordsResent: t[.recordsResent], recordsPending: pending.queued + pending.inFlight,
            pushedTransitions: t[.pushedTransitions], connects: t[.connects], resyncs: t[.resyncs],
            protocolViolations: t[.protocolViolations], pushedResets: t[.pushedResets], watchHeartbeats: t[.watchHeartbeats],
            leaderRedirects: t[.leaderRedirects], successesLost: t[.successesLost])
    }

    func entry(_ name: String) -> BreakerEntry {
        let (entry, created) = entries.withLock { entries -> (BreakerEntry, Bool) in
            if let entry = entries[name] { return (entry, false) }
            let entry = BreakerEntry(name: name, recordLinks: recordLinks.count, epoch: epoch.load(ordering: .acquiring))
            entries[name] = entry
            return (entry, true)
        }
        if created, entry.invalidName == nil { refreshConfig(entry) }
        return entry
    }

    var allEntries: [BreakerEntry] { entries.withLock { Array($0.values) } }

    func lookup(_ name: String) -> BreakerEntry? { entries.withLock { $0[name] } }

    /// One TLS context for all the client's connections: loading certificates is not free. Each
    /// connection checks the name of the endpoint it connects to (`DaemonLink`).
    private static func makeTLS(_ c: Configuration) throws -> LineTLS? {
        guard let configuration = c.tls else { return nil }
        do throws(TLSSetupError) {
            return LineTLS(context: try ClientTLS.makeContext(configuration), serverHostname: nil)
        } catch {
            throw BreakerClientError(.badRequest, "invalid BreakerClient configuration: \(error.message)")
        }
    }

    private static func validate(_ c: Configuration) throws {
        func check(_ ok: Bool, _ what: String) throws {
            guard ok else { throw BreakerClientError(.badRequest, "invalid BreakerClient configuration: \(what)") }
        }
        try check(!c.endpoints.isEmpty, "endpoints must not be empty")
        try check(c.endpoints.allSatisfy { (1...65_535).contains($0.port) && !$0.host.isEmpty }, "port must be 1...65535")
        try check(c.connectTimeout > .zero && c.decisionTimeout > .zero && c.requestTimeout > .zero, "timeouts must be positive")
        try check(c.recordConnections >= 1, "recordConnections must be at least 1")
        try check(c.maxQueuedRecords >= 1 && c.maxInFlightRecords >= 1, "queue limits must be at least 1")
        try check(c.successFlush >= .zero && c.inferredOpenCache >= .zero, "windows must not be negative")
        try check(c.recordRetryLimit > .zero, "recordRetryLimit must be positive")
        try check(c.heartbeatInterval.map { $0 > .zero } ?? true, "heartbeatInterval must be positive")
        try check(c.watchHeartbeat.map { $0 >= .milliseconds(100) && $0 <= .seconds(60) } ?? true,
                  "watchHeartbeat must be between 100 ms and 60 s")
        try check(c.maxLineLength >= 1024, "maxLineLength must be at least 1024")
        if let name = c.clientName {
            try check(!name.isEmpty && name.utf8.count <= 64, "clientName must be 1-64 bytes")
            do { try BreakerName.validate(name) } catch { throw BreakerClientError(error) }
        }
        if let prefix = c.watchPrefix {
            do { try BreakerName.validatePrefix(prefix) } catch { throw BreakerClientError(error) }
        }
        do { try c.defaultLocalConfig.validate() } catch { throw BreakerClientError(.badRequest, error.message) }
    }
}
