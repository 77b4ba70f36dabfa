import BreakerCore
import BreakerWire
import NIOCore
import BreakerSync

/// The slow path (asking the daemon, falling back) and everything that keeps the cache fresh.
extension BreakerClient {
    /// A cache miss: ask the daemon within `decisionTimeout`, or let the fallback decide.
    nonisolated(nonsending)
    func decide(_ breaker: Breaker) async throws -> BreakerAttempt {
        let entry = breaker.entry
        if let error = entry.invalidName { throw error }
        if let connection = control.connection {
            let epoch = self.epoch.load(ordering: .acquiring)
            telemetry.count(.decisionRequests)
            let answer: Result<Reply, any Error>
            do {
                answer = .success(try await connection.send(.shouldAttempt(breaker: entry.name), timeout: decisionTimeout).get())
            } catch {
                answer = .failure(error)
            }
            switch answer {
            case .success(.decision(let d)):
                let now = clock.now()
                let needsConfig = entry.state.withLock { s in
                    s.install(d, epoch: epoch, now: now)
                    return s.config == nil
                }
                if needsConfig { refreshConfig(entry) }
                guard d.allow else {
                    throw BreakerOpenError(name: entry.name, state: d.state,
                                           retryAfter: .milliseconds(d.retryAfterMs ?? 0), source: .daemon)
                }
                return BreakerAttempt(breaker: breaker, token: d.permit.map { .permit($0) } ?? .generation(d.generation), start: now)
            case .failure(let error as BreakerClientError) where error.code == .notLeader:
                // A standby: the connections move to the leader; meanwhile the fallback decides.
                control.redirect(leader: error.leader, from: connection.endpoint, closing: connection)
            case .failure(let error as BreakerClientError) where !error.isTransportFailure:
                throw error  // the daemon refused the request itself (e.g. invalid_name)
            default:
                break  // unreachable, too slow or nonsense: the fallback decides
            }
        }
        return try fallbackDecision(breaker)
    }

    func fallbackDecision(_ breaker: Breaker) throws(BreakerOpenError) -> BreakerAttempt {
        telemetry.count(.fallbackDecisions)
        let entry = breaker.entry
        let now = clock.now()
        switch configuration.fallback {
        case .failOpen:
            return BreakerAttempt(breaker: breaker, token: .unguarded, start: now)
        case .failClosed:
            throw BreakerOpenError(name: entry.name, state: .open, retryAfter: nil, source: .failClosed)
        case .local:
            let defaults = configuration.defaultLocalConfig
            switch entry.state.withLock({ $0.localDecide(now: now, defaultConfig: defaults) }) {
            case .allow(let token):
                return BreakerAttempt(breaker: breaker, token: .local(token), start: now)
            case .reject(let state, let retryAfterMs):
                throw BreakerOpenError(name: entry.name, state: state, retryAfter: .milliseconds(retryAfterMs), source: .local)
            }
        }
    }

    /// Routes an outcome: daemon decisions become records (successes folded), fallback
    /// decisions feed the fallback breaker. While the daemon is away in `.local` mode, outcomes
    /// of still-cached daemon decisions feed the fallback breaker too, so it takes over with
    /// this replica's recent history instead of a clean slate.
    func report(_ outcome: Outcome, token: AttemptToken, entry: BreakerEntry, now: UInt64) {
        switch token {
        case .generation(let generation):
            if outcome == .success {
                pipeline.success(entry, generation: generation, now: now)
            } else {
                pipeline.report(entry, .failure, generation: generation, permit: nil)
            }
        case .permit(let permit):
            pipeline.report(entry, outcome, generation: nil, permit: permit)
        case .local(let token):
            entry.state.withLock { $0.feedLocal(outcome, token: token, now: now, seed: nil) }
            return
        case .unguarded:
            return
        }
        if configuration.fallback == .local, !available.load(ordering: .relaxed) {
            let defaults = configuration.defaultLocalConfig
            entry.state.withLock { $0.feedLocal(outcome, token: .none, now: now, seed: defaults) }
        }
    }

    /// An attempt ended without an outcome: a daemon trial's permit goes back (`return-permit`,
    /// after the breaker's earlier records), a fallback trial's to the fallback breaker; other
    /// attempts leave nothing to undo.
    func abandon(_ token: AttemptToken, entry: BreakerEntry, now: UInt64) {
        switch token {
        case .permit(let permit):
            pipeline.returnPermit(entry, permit: permit)
        case .local(let token):
            entry.state.withLock { _ = $0.local?.returnPermit(token, at: MonotonicClock.timestamp(now)) }
        case .generation, .unguarded:
            break
        }
    }

    /// A record reply: the breaker's state after the record, which may be news.
    func observe(_ entry: BreakerEntry, state: BreakerState, generation: UInt64, epoch: UInt64) {
        let now = clock.now()
        let timeout = configuration.defaultLocalConfig.timeoutMs
        _ = entry.state.withLock {
            $0.observe(state: state, generation: generation, epoch: epoch, now: now, openCache: openCache, defaultTimeoutMs: timeout)
        }
    }

    /// A pushed event: a transition updates (OPEN) or drops (anything else) the cached decision
    /// at once; a reset of a closed breaker drops it (new generation); a heartbeat proves the
    /// stream live, so held answers stay valid.
    func handle(_ event: Event) {
        switch event {
        case .transition(let name, let transition):
            telemetry.count(.pushedTransitions)
            guard let entry = lookup(name) else { return }
            observe(entry, state: transition.to, generation: transition.generation, epoch: epoch.load(ordering: .acquiring))
            refreshConfig(entry)  // a transition is a good moment to pick up a changed config
        case .reset(let name, let generation, _):
            telemetry.count(.pushedResets)
            guard let entry = lookup(name) else { return }
            observe(entry, state: .closed, generation: generation, epoch: epoch.load(ordering: .acquiring))
        case .heartbeat:
            telemetry.count(.watchHeartbeats)
            lastWatchHeartbeat.store(clock.now(), ordering: .releasing)
        }
    }

    /// Whether held (`until_pushed`) answers are still valid: the watch stream's last heartbeat
    /// is at most twice its interval old. A stalled or lost stream stops holding them.
    @inline(__always)
    func watchStreamIsLive(now: UInt64) -> Bool {
        guard heldAnswerBound > 0 else { return false }
        let last = lastWatchHeartbeat.load(ordering: .acquiring)
        return last != 0 && now &- last <= heldAnswerBound
    }

    /// Learns the breaker's config (for the `.local` fallback) with `inspect`, in the background.
    func refreshConfig(_ entry: BreakerEntry) {
        guard let connection = control.connection else { return }
        let ask = entry.state.withLock { s -> Bool in
            guard !s.configInFlight else { return false }
            s.configInFlight = true
            return true
        }
        guard ask else { return }
        connection.send(.inspect(breaker: entry.name), timeout: requestTimeout).whenComplete { result in
            entry.state.withLock { s in
                s.configInFlight = false
                if case .success(.breaker(let view)) = result { s.learn(view.breaker.config) }
            }
        }
    }

    /// Starts every link. The decision link subscribes to transitions before it is used, and
    /// each time it (re)connects the client resyncs: cached answers and fallback state are
    /// dropped, since transitions may have been missed while it was away.
    func startLinks() {
        let observer = WeakBox(self)
        let watch = configuration.watchTransitions
        let prefix = configuration.watchPrefix
        let heartbeatMs = configuration.watchHeartbeat.map { Int($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) }
        let timeout = requestTimeout
        var hooks = DaemonLink.Hooks()
        hooks.prepare = { connection in
            if watch {
                let reply = try await connection.send(.watch(prefix: prefix, heartbeatMs: heartbeatMs), timeout: timeout).get()
                guard case .watching = reply else { throw BreakerClientError(.protocolViolation, "unexpected reply to watch") }
            }
            observer.value?.resync()
        }
        hooks.up = {
            guard let client = observer.value else { return }
            client.available.store(true, ordering: .relaxed)
            client.telemetry.available.record(1)
            client.configuration.logger.info("breakerd reachable; decisions come from the daemon")
            for entry in client.allEntries { client.refreshConfig(entry) }
            client.pipeline.kick()
        }
        hooks.down = { stopping in
            guard let client = observer.value else { return }
            client.available.store(false, ordering: .relaxed)
            client.lastWatchHeartbeat.store(0, ordering: .releasing)  // held answers end with the stream
            client.telemetry.available.record(0)
            guard !stopping else { return }
            client.configuration.logger.warning("lost breakerd; cached decisions, then the fallback decide",
                                                metadata: ["fallback": "\(client.configuration.fallback.rawValue)"])
        }
        hooks.onEvent = { event in observer.value?.handle(event) }
        control.start(hooks: hooks)
        var recordHooks = DaemonLink.Hooks()
        // Records carry the quorum's reporter: the connection names itself before any is sent.
        if let clientName = configuration.clientName {
            recordHooks.prepare = { connection in
                let reply = try await connection.send(.hello(client: clientName), timeout: timeout).get()
                guard case .hello = reply else { throw BreakerClientError(.protocolViolation, "unexpected reply to hello") }
            }
        }
        recordHooks.up = { observer.value?.pipeline.kick() }
        for link in recordLinks { link.start(hooks: recordHooks) }
    }

    private func resync() {
        let epoch = self.epoch.add(1, ordering: .acquiringAndReleasing).newValue
        for entry in allEntries { entry.state.withLock { $0.resync(epoch: epoch) } }
        telemetry.count(.resyncs)
    }

    /// Counters of one client, from `BreakerClient.statistics`.
    public struct Statistics: Sendable, Hashable {
        /// Whether the decision connection is up right now.
        public var isDaemonAvailable: Bool
        /// `should-attempt` requests sent (cache misses that reached the daemon).
        public var decisionRequests: Int
        /// Calls decided by the fallback.
        public var fallbackDecisions: Int
        /// Records written for the first time (resends are in `recordsResent`). Every record
        /// the client makes ends in exactly one of `recordsAcknowledged`, `recordsRejected`,
        /// `recordsLost` and `recordsDropped`, or is still in `recordsPending`.
        public var recordsSent: Int
        /// Outcomes carried by those records: folding makes this larger than `recordsSent`.
        public var outcomesSent: Int
        /// Records the daemon acknowledged (committed).
        public var recordsAcknowledged: Int
        /// Records dropped because the queue was full (never sent, or waiting to be resent).
        public var recordsDropped: Int
        /// Records given up on `recordRetryLimit` after their first write, every connection
        /// they were written on having failed before the reply: the daemon may have counted
        /// them (once at most, thanks to the dedupe key) or not. Also the success aggregates
        /// whose one write's connection failed before the reply: sent at most once, never
        /// resent (their successes are in `successesLost`).
        public var recordsLost: Int
        /// Records the daemon answered with an error reply (never resent).
        public var recordsRejected: Int
        /// Writes of records again, with the same dedupe key, after their connection failed
        /// before the reply; the daemon counts each record once however often it is written.
        public var recordsResent: Int
        /// Records queued or in flight now.
        public var recordsPending: Int
        /// Transition events received on the watch connection (of any breaker).
        public var pushedTransitions: Int
        /// Connections established (first ones included).
        public var connects: Int
        /// Times cached state was dropped because the decision connection (re)connected.
        public var resyncs: Int
        /// Lines from the daemon that broke the protocol (each closed its connection).
        public var protocolViolations: Int
        /// Reset events received (a closed breaker reset: held answers of it end).
        public var pushedResets: Int
        /// Heartbeats received on the watch connection (they keep held answers valid).
        public var watchHeartbeats: Int
        /// `not_leader` answers followed to the leader they named (or to the next endpoint).
        public var leaderRedirects: Int
        /// Successes in aggregates (a closed breaker's summed successes, no permit) whose
        /// connection failed before the reply: the daemon may have counted them or not, and
        /// they are not resent (see `RecordPipeline`, "Successes at most once").
        public var successesLost: Int
    }
}

/// A weak reference that can cross into `@Sendable` closures, so the client's connections
/// and timers never keep it alive (its `deinit` stops them).
final class WeakBox<T: AnyObject & Sendable>: Sendable {
    private struct Weak: Sendable { weak var value: T? }
    private let storage: Mutex<Weak>

    init(_ value: T? = nil) { storage = Mutex(Weak(value: value)) }

    var value: T? {
        get { storage.withLock { $0.value } }
        set { storage.withLock { $0.value = newValue } }
    }
}
