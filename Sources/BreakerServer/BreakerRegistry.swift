import BreakerCore
import BreakerStore
import BreakerWire
import Logging
import NIOCore
import BreakerSync
import struct Synchronization.Atomic

/// Owns every breaker in memory, in shards each guarded by a `Mutex` that is never held across
/// I/O or `await`. Changes are applied in memory, then handed to the single `StoreWriter`; a
/// reply that acknowledges a change is released only once the writer has committed it.
public final class BreakerRegistry: Sendable {
    /// What executing one command produced.
    public enum Execution: Sendable {
        /// Answer at once (decisions, reads, errors).
        case reply(Reply)
        case error(WireError)
        /// Answer only after `breaker`'s state is committed.
        case afterCommit(Reply, breaker: String)
        /// Answer with the breaker's transition log, read by the writer (`history`).
        case history(breaker: String, limit: Int)
    }

    public struct Settings: Sendable {
        /// `cache_ms` handed out with CLOSED decisions.
        public var closedCacheMs: Int64 = 100
        /// Config given to breakers created implicitly by `should-attempt` or a record.
        public var defaultConfig: BreakerConfig = .default
        /// Configs by name prefix for implicitly created breakers; the first match wins over
        /// `defaultConfig` (see `config(for:)`).
        public var rules: [BreakerRule] = []
        /// A new name beyond this many breakers gets `overloaded`; existing breakers keep working.
        public var maxBreakers = 1_000_000
        /// How long a record's `dedupe` key is remembered (wall clock, across restarts).
        public var dedupeWindowMs: Int64 = 600_000
        /// At most this many dedupe keys are remembered, daemon-wide; beyond it a record is
        /// counted and answered but its key is not remembered (see `dedupedRecord`). 0 turns
        /// deduplication off: keys are accepted and ignored, every record is counted.
        public var maxDedupeKeys = 500_000
        public init() {}
    }

    final class Shard: Sendable {
        let breakers = Mutex<[String: BreakerSlot]>([:])
        /// Taken before `breakers` when both are needed, never after.
        let dedupe = Mutex(DedupeTable())
    }

    public let clock: DaemonClock
    let hub = WatchHub()
    let settings: Settings
    /// Chosen at start-up and put in every permit, so permits from before a restart are stale.
    let permitEpoch: String
    let shards: [Shard]
    /// Breakers in memory; a breaker is never removed, so this only grows (up to `maxBreakers`).
    let count = Atomic<Int>(0)
    let writer: StoreWriter
    /// The bound on remembered dedupe keys and their count (see `DedupeBudget`).
    let dedupeBudget: DedupeBudget
    /// The server's own counters (requests, connections); see `ServerMetrics`.
    public let metrics = ServerMetrics()
    let timers: any EventLoop
    let logger: Logger

    /// Loads every breaker from `database` and takes ownership of it.
    public init(database: sending BreakerDatabase, settings: Settings, clock: DaemonClock = DaemonClock(),
                timers: any EventLoop, logger: Logger) throws(StoreError) {
        let loaded = try database.loadAll()
        let shards = (0..<32).map { _ in Shard() }
        for stored in loaded {
            Self.shard(for: stored.name, in: shards).breakers.withLock { $0[stored.name] = BreakerSlot(stored.breaker) }
        }
        let dedupeBudget = DedupeBudget(limit: settings.maxDedupeKeys)
        dedupeBudget.added(try Self.loadDedupe(from: database, into: shards, settings: settings,
                                               nowMs: clock.now().millisecondsSinceEpoch))
        self.dedupeBudget = dedupeBudget
        self.shards = shards
        self.count.store(loaded.count, ordering: .relaxed)
        self.clock = clock
        self.settings = settings
        self.timers = timers
        self.logger = logger
        self.permitEpoch = String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF, radix: 36)
        self.writer = StoreWriter(database: database, snapshotWithDedupe: { name in
            let shard = Self.shard(for: name, in: shards)
            return shard.dedupe.withLock { table in
                BreakerSnapshot(breaker: shard.breakers.withLock { $0[name]?.breaker }, dedupes: table.unsaved.removeValue(forKey: name) ?? [])
            }
        }, logger: logger)
        // Apply what time did while the daemon was down, and schedule what is still to come.
        for stored in loaded where stored.breaker.state != .closed {
            _ = mutate(stored.name, create: false) { breaker, now in
                let transitions = breaker.advance(to: now)
                if transitions.isEmpty { schedule(stored.name, breaker.nextDeadline, now: now) }
                return ((), transitions)
            }
        }
        dedupeLoaded()
    }

    public var breakerCount: Int { count.load(ordering: .relaxed) }


    /// Commits everything submitted so far and closes the database.
    public func shutdown() { writer.shutdown() }

    // MARK: Commands

    /// Runs `command`. `actor` is who is asking (an admin token's name), kept with admin changes;
    /// `reporter` is the connection's client name (see `hello`), counted by quorums.
    public func execute(_ command: Command, actor: String? = nil, reporter: String? = nil) -> Execution {
        switch command {
        case .ping: return .reply(.pong(version: BreakerServer.version))
        case .shouldAttempt(let name): return shouldAttempt(name)
        case .record(let record):
            return record.dedupe.map { dedupedRecord(record, key: $0, reporter: reporter) } ?? self.record(record, reporter: reporter)
        case .inspect(let name):
            guard let view = view(name) else { return .error(Self.notFound(name)) }
            return .reply(.breaker(view))
        case .list(let prefix): return .reply(.list(list(prefix: prefix)))
        case .configure(let name, let patch): return configure(name, patch)
        case .reset(let name):
            let result = mutate(name, create: false, actor: actor) { breaker, now in
                let (advanced, reset) = breaker.reset(at: now)
                return (BreakerView(name: name, breaker: breaker), advanced + (reset.map { [$0] } ?? []))
            }
            guard let view = result else { return .error(Self.notFound(name)) }
            return .afterCommit(.breaker(view), breaker: name)
        case .forceOpen(let name, let reason):
            let view = mutate(name, create: true, actor: actor, note: reason) { breaker, now in
                let transitions = breaker.forceOpen(ForcedOpen(reason: reason, actor: actor, at: now))
                return (BreakerView(name: name, breaker: breaker), transitions)
            }
            return view.map { .afterCommit(.breaker($0), breaker: name) } ?? .error(overloaded(name))
        case .release(let name):
            let view = mutate(name, create: false, actor: actor) { breaker, now in
                let transitions = breaker.release(at: now)
                return (BreakerView(name: name, breaker: breaker), transitions)
            }
            guard let view else { return .error(Self.notFound(name)) }
            return .afterCommit(.breaker(view), breaker: name)
        case .history(let name, let limit):
            guard exists(name) else { return .error(Self.notFound(name)) }
            return .history(breaker: name, limit: limit)
        case .watch, .auth, .hello: return .error(WireError(.internal, "\(command.op) is handled by the connection"))
        }
    }

    /// Reads `name`'s transition log on the writer's thread (newest first).
    public func history(_ name: String, limit: Int, _ completion: @escaping @Sendable (Result<[HistoryEntry], StoreError>) -> Void) {
        writer.history(breaker: name, limit: limit) { result in
            completion(result.map { $0.map { HistoryEntry(transition: $0.transition, actor: $0.actor, note: $0.note) } })
        }
    }

    private func exists(_ name: String) -> Bool {
        Self.shard(for: name, in: shards).breakers.withLock { $0[name] != nil }
    }

    /// Calls `completion` once `name`'s current state is committed (on the writer's thread).
    public func whenCommitted(_ name: String, _ completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        writer.submit(name, transitions: [], completion: completion)
    }

    /// One completion once every breaker in `names` (changed before the call) is committed.
    func whenCommitted(_ names: [String], _ completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        writer.submit(names: names, completion: completion)
    }

    /// Subscribes `id` to the transitions of breakers whose name starts with `prefix` (all when
    /// nil), replacing an earlier subscription of the same `id`. `deliver` gets each transition
    /// as the protocol's `watch` event line (`\n`-terminated); it is called with the breaker's
    /// shard lock held, in the order one breaker's transitions happened, so it must only
    /// enqueue, never block. Used by `watch` connections and the HTTP status page's `/events`.
    public func watch(_ id: ObjectIdentifier, prefix: String?, deliver: @escaping @Sendable ([UInt8]) -> Void) {
        hub.add(id, prefix: prefix, deliver: deliver)
    }

    /// Ends the subscription `watch` made for `id`; `deliver` is not called after this returns.
    public func unwatch(_ id: ObjectIdentifier) { hub.remove(id) }

    private func shouldAttempt(_ name: String) -> Execution {
        decide(name).map { .reply(.decision($0)) } ?? .error(overloaded(name))
    }

    /// `should-attempt` without the `Execution`/`Reply` wrapping, for the connection's hot path:
    /// nil exactly when `execute(.shouldAttempt)` answers `overloaded(name)`.
    func decide(_ name: String) -> DecisionReply? {
        let cacheMs = settings.closedCacheMs
        let epoch = permitEpoch
        return mutate(name, create: true) { breaker, now -> (DecisionReply, [Transition]) in
            let result = breaker.shouldAttempt(at: now)
            var reply = DecisionReply(allow: result.decision.isAllowed, state: breaker.state,
                                      generation: breaker.generation, cacheMs: 0)
            switch result.decision {
            case .allow: reply.cacheMs = cacheMs
            case .allowTrial(let permit): reply.permit = PermitToken(epoch: epoch, permit: permit).description
            case .reject(let retryAfterMs):
                reply.retryAfterMs = retryAfterMs
                reply.cacheMs = breaker.state == .open || breaker.state == .forcedOpen ? retryAfterMs : 0
            }
            return (reply, result.transitions)
        }
    }

    func record(_ record: RecordCommand, reporter: String?) -> Execution {
        switch recordOutcome(record, reporter: reporter) {
        case .success(let r): .afterCommit(.recorded(state: r.state, generation: r.generation, stale: r.stale), breaker: record.breaker)
        case .failure(let error): .error(error)
        }
    }

    /// What a record answers once committed.
    struct Recorded: Sendable {
        var state: BreakerState
        var generation: UInt64
        var stale: Bool
    }

    /// A record (without `dedupe`) without the `Execution`/`Reply` wrapping, for the connection's
    /// hot path: `record` is exactly this, wrapped.
    func recordOutcome(_ record: RecordCommand, reporter: String?) -> Result<Recorded, WireError> {
        var token = OutcomeToken.none
        if let text = record.permit {
            guard let permit = PermitToken(text) else {
                return .failure(WireError(.badRequest, "field 'permit' is not a permit this daemon issued"))
            }
            token = permit.epoch == permitEpoch ? .permit(permit.permit) : .expiredPermit
        } else if let generation = record.generation {
            token = .generation(generation)
        }
        let recorded = mutate(record.breaker, create: true) { breaker, now -> (Recorded, [Transition]) in
            let result = breaker.record(record.outcome, count: record.count, token: token, durationMs: record.durationMs,
                                        reporter: reporter, at: now)
            return (Recorded(state: breaker.state, generation: breaker.generation, stale: result.stale), result.transitions)
        }
        return recorded.map { .success($0) } ?? .failure(overloaded(record.breaker))
    }

    private func configure(_ name: String, _ patch: BreakerConfigPatch) -> Execution {
        let defaults = settings.config(for: name)
        let result = Self.shard(for: name, in: shards).breakers.withLock { breakers -> Result<BreakerView, WireError> in
            let existing = breakers[name]?.breaker
            let config: BreakerConfig
            do throws(ConfigError) {
                config = try patch.applied(to: existing?.config ?? defaults)
            } catch {
                return .failure(WireError(.badRequest, error.message))
            }
            // Validated first, so a rejected configure never takes a place under the limit.
            if existing == nil, !reserveBreaker() { return .failure(overloaded(name)) }
            let now = clock.now()
            var breaker = existing ?? CircuitBreaker(config: config, createdAt: now)
            breaker.config = config
            let transitions = breaker.advance(to: now)
            if let slot = breakers[name] { slot.breaker = breaker } else { breakers[name] = BreakerSlot(breaker) }
            afterChange(name, breaker.nextDeadline, transitions)
            return .success(BreakerView(name: name, breaker: breaker))
        }
        switch result {
        case .success(let view): return .afterCommit(.breaker(view), breaker: name)
        case .failure(let error): return .error(error)
        }
    }

    /// The effective state of one breaker. Looking never uses up a permit, but does apply what
    /// time has done, so the answer matches what watchers were told.
    func view(_ name: String) -> BreakerView? {
        mutate(name, create: false) { breaker, now in
            (BreakerView(name: name, breaker: breaker), breaker.advance(to: now))
        }
    }

    func list(prefix: String?) -> [BreakerView] {
        var views: [BreakerView] = []
        for shard in shards {
            let names = shard.breakers.withLock { breakers in
                breakers.keys.filter { prefix.map($0.hasPrefix) ?? true }
            }
            views += names.compactMap(view)
        }
        return views.sorted { $0.name < $1.name }
    }
}
