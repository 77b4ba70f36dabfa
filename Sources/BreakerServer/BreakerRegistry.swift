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
        /// Counted outcomes not yet handed to the writer; guarded by `breakers`.
        let journal = ShardJournal()
    }

    /// The daemon's one clock: every time the registry and its store use comes from it.
    public let clock: any BreakerClock
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
    /// The server's own counters (requests, connections); see `ServerMetrics`. A daemon that
    /// replaces its registry (a PostgreSQL cluster's role changes) hands the same one to each.
    public let metrics: ServerMetrics
    /// When set, requests are served only while it is open (a PostgreSQL cluster's leader
    /// term; see `LeaderGate`); nil always serves (SQLite).
    public let gate: LeaderGate?
    let logger: Logger

    /// Loads every breaker and dedupe key from `storage` and takes ownership of it.
    public init(storage: sending any BreakerStorage, settings: Settings, clock: any BreakerClock, gate: LeaderGate? = nil,
                metrics: ServerMetrics = ServerMetrics(), logger: Logger) throws(StoreError) {
        var loaded = try storage.loadAll()
        let loadedCount = loaded.count
        let shards = (0..<32).map { _ in Shard() }
        // Each shard's table is filled under one lock at its final size: a million breakers
        // inserted a lock and a rehash-as-it-grows at a time took a second. A shard's loaded
        // snapshots are dropped as soon as its slots exist, so a million of each never coexist
        // (a takeover from a standby's copy peaked at twice the registry's memory).
        var groups = Self.byShard(loaded, count: shards.count, name: \.name)
        loaded = []
        var unsettled: [String] = []
        for index in shards.indices {
            let group = groups[index]
            groups[index] = []
            shards[index].breakers.withLock { table in
                table.reserveCapacity(group.count)
                for stored in group {
                    table[stored.name] = BreakerSlot(stored.breaker)
                    if stored.breaker.state != .closed { unsettled.append(stored.name) }
                }
            }
        }
        let dedupeBudget = DedupeBudget(limit: settings.maxDedupeKeys)
        dedupeBudget.added(try Self.loadDedupe(from: storage, into: shards, settings: settings, now: clock.now()))
        self.dedupeBudget = dedupeBudget
        self.shards = shards
        self.count.store(loadedCount, ordering: .relaxed)
        self.clock = clock
        self.settings = settings
        self.gate = gate
        self.metrics = metrics
        self.logger = logger
        self.permitEpoch = String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF, radix: 36)
        self.writer = StoreWriter(storage: storage, elapsed: { clock.elapsed() }, logger: logger)
        // Apply what time did while the daemon was down, and schedule what is still to come.
        for name in unsettled {
            _ = mutate(name, create: false) { breaker, now in
                let transitions = breaker.advance(to: now)
                if transitions.isEmpty { schedule(name, breaker.nextDeadline) }
                return ((), transitions)
            }
        }
        dedupeLoaded()
        schedulePrune()
        // What loading allocated and dropped (rows, the loaded array) goes back to the system.
        releaseFreeHeap()
    }

    /// The production clock (`SystemClock`, deadlines run on `timers`) over `database`.
    public convenience init(database: sending BreakerDatabase, settings: Settings, timers: any EventLoop,
                            logger: Logger) throws(StoreError) {
        try self.init(storage: database, settings: settings, clock: SystemClock(timers: timers), logger: logger)
    }

    public var breakerCount: Int { count.load(ordering: .relaxed) }


    /// Commits everything submitted so far and closes the database.
    public func shutdown() {
        handOverJournals()
        writer.shutdown()
    }

    /// Reads `name`'s transition log on the writer's thread (newest first).
    public func history(_ name: String, limit: Int, _ completion: @escaping @Sendable (Result<[HistoryEntry], StoreError>) -> Void) {
        writer.history(breaker: name, limit: limit) { result in
            completion(result.map { $0.map { HistoryEntry(transition: $0.transition, actor: $0.actor, note: $0.note) } })
        }
    }

    func exists(_ name: String) -> Bool {
        Self.shard(for: name, in: shards).breakers.withLock { $0[name] != nil }
    }

    /// Calls `completion` once `name`'s current state is committed (on the writer's thread).
    public func whenCommitted(_ name: String, _ completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        whenCommitted(commitScope(of: name), completion)
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
}
