import BreakerCore
import BreakerStore
import BreakerSync
import Logging
import struct Synchronization.Atomic

/// One `PostgresStore` (one session) shared by the two threads that use it in a daemon of a
/// cluster: the election thread (`tryAcquire` as a standby, then `renew` as the leader) and, once
/// this session leads, the store writer (commits, through `BreakerStorage`). One lock orders
/// their round trips on the one session, so the heartbeat proves the very session that commits.
/// The lock is held across a round trip; neither thread is an event loop.
///
/// `fence()` ends the term for writes at once, without waiting for the lock: a batch still
/// queued behind it is refused, never committed after the daemon stepped down. A fenced or lost
/// session is never used again; a new term connects anew.
public final class SharedPostgresStore: BreakerStorage, Sendable {
    private let store: Mutex<PostgresStore>
    private let fenced = Atomic<Bool>(false)
    /// A standby's copy handed over for the term's load (`takeOver(with:)`).
    private let handedCopy = Mutex<HotCopy?>(nil)
    public let location: String
    public let cluster: String

    private init(_ store: sending PostgresStore) {
        location = store.location
        cluster = store.options.cluster
        self.store = Mutex(store)
    }

    /// A new session on the first primary of `urls` (see `PostgresStore.connect`).
    public static func connect(_ urls: [PostgresURL], options: PostgresStore.Options,
                               logger: Logger) throws(PostgresStoreError) -> SharedPostgresStore {
        SharedPostgresStore(try PostgresStore.connect(urls, options: options, logger: logger))
    }

    /// Takes the cluster's lease if it is free (`PostgresStore.tryAcquire`).
    public func tryAcquire(elapsed: Duration) throws(PostgresStoreError) -> Bool {
        try checkFence()
        return try store.withLock { store throws(PostgresStoreError) in try store.tryAcquire(elapsed: elapsed) }
    }

    /// Who leads this store's cluster, as published (`PostgresStore.currentLeader`).
    public func currentLeader() throws(PostgresStoreError) -> LeaderRecord? {
        try store.withLock { store throws(PostgresStoreError) in try store.currentLeader(cluster: store.options.cluster) }
    }

    /// The heartbeat (see `PostgresStore.renew`). The clock is read once the session is ours,
    /// just before the round trip, and that reading, returned, is the confirmation on success:
    /// a reading taken before waiting for the session would date the confirmation as early as a
    /// long commit ahead of it began, and a leader whose batch outlasted the lease would step
    /// down although its very next round trip proved the lease.
    public func renew(elapsed: () -> Duration) throws(PostgresStoreError) -> Duration {
        try checkFence()
        return try store.withLock { store throws(PostgresStoreError) in
            let before = elapsed()
            try store.renew(elapsed: before)
            return before
        }
    }

    /// Publishes `address` as the cluster's leader (`PostgresStore.publishLeader`).
    public func publishLeader(address: String, at now: Timestamp) throws(PostgresStoreError) {
        try checkFence()
        try store.withLock { store throws(PostgresStoreError) in try store.publishLeader(address: address, at: now) }
    }

    /// Brings a standby's `copy` up to date, a page at a time while `more()` says so
    /// (`PostgresStore.catchUp`).
    @discardableResult
    public func catchUp(_ copy: inout HotCopy, while more: @Sendable () -> Bool) throws(PostgresStoreError) -> (read: Int, current: Bool) {
        try store.withLock { store throws(PostgresStoreError) in try store.catchUp(&copy, while: more) }
    }

    /// The next `loadAll` (the term registry's) starts from `copy` and reads only what changed
    /// after it.
    public func takeOver(with copy: sending HotCopy) {
        handedCopy.withLock { $0 = copy }
    }

    /// No write after this returns is committed; the session is closed by `close`.
    public func fence() { fenced.store(true, ordering: .releasing) }

    private func checkFence() throws(PostgresStoreError) {
        if fenced.load(ordering: .acquiring) {
            throw PostgresStoreError(code: .notLeader, message: "the leader term of cluster \"\(cluster)\" at \(location) has ended")
        }
    }

    // MARK: BreakerStorage

    public func loadAll() throws(StoreError) -> [StoredBreaker] {
        let copy = handedCopy.withLock { handed in
            defer { handed = nil }
            return handed ?? HotCopy()
        }
        return try store.withLock { store throws(StoreError) in try store.loadAll(startingFrom: copy) }
    }

    public func loadDedupe(notExpiredAt now: Timestamp, limit: Int) throws(StoreError) -> [DedupeRow] {
        try store.withLock { store throws(StoreError) in try store.loadDedupe(notExpiredAt: now, limit: limit) }
    }

    public func write(_ batch: WriteBatch) throws(StoreError) {
        do throws(PostgresStoreError) {
            try checkFence()
        } catch {
            throw StoreError(code: error.storeError.code, message: "write to database \(location) refused: \(error.message)")
        }
        try store.withLock { store throws(StoreError) in try store.write(batch) }
    }

    public func history(breaker: String, limit: Int) throws(StoreError) -> [LoggedTransition] {
        try store.withLock { store throws(StoreError) in try store.history(breaker: breaker, limit: limit) }
    }

    public func sizeBytes() -> Int64 {
        store.withLock { $0.sizeBytes() }
    }

    /// Ends the session, which frees the lease if the server still counts it held.
    public func close() {
        fence()
        store.withLock { $0.close() }
    }
}
