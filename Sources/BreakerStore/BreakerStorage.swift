import BreakerCore

/// What breakerd needs of durable storage. `BreakerDatabase` (SQLite) implements it; a store
/// over the network (PostgreSQL) implements the same contract, which `BreakerStorageContractTests`
/// tests once for every implementation.
///
/// **One owner at a time.** An implementation need not be `Sendable` and may keep plain
/// mutable state: the daemon loads from it at start-up, then moves it (`sending`) to
/// `StoreWriter`, whose thread makes every later call, one at a time. Every call is
/// synchronous on that thread: an implementation whose commits cross the network blocks the
/// writer thread until its round trip ends (no event loop ever waits for it). Time never comes
/// from the store: whatever depends on it (`loadDedupe`, `WriteBatch.pruneDedupeBefore`) is
/// handed in by the caller, read from the daemon's one clock.
public protocol BreakerStorage: AnyObject {
    /// Names the store in logs and errors: a file path, a URL without its password.
    var location: String { get }

    /// Every stored breaker, in any order.
    func loadAll() throws(StoreError) -> [StoredBreaker]

    /// The remembered dedupe keys whose window has not ended at `now` (`expiresMs > now`),
    /// latest expiry first, at most `limit` of them.
    func loadDedupe(notExpiredAt now: Timestamp, limit: Int) throws(StoreError) -> [DedupeRow]

    /// Writes the whole batch in one transaction, or nothing: on error nothing of it is visible,
    /// now or after a reopen. In the same transaction each breaker's transition log is trimmed
    /// to its newest rows (the implementation's per-breaker limit), and expired dedupe keys go
    /// when the batch asks (`pruneDedupeBefore`).
    func write(_ batch: WriteBatch) throws(StoreError)

    /// The newest `limit` log rows of one breaker, newest first, as written (actor, note).
    func history(breaker: String, limit: Int) throws(StoreError) -> [LoggedTransition]

    /// Bytes the store takes up, for the daemon's metrics.
    func sizeBytes() -> Int64

    /// Whether a commit is cheap and local enough to be made on an event loop (SQLite without a
    /// per-commit fsync: microseconds), so that the loop whose replies wait for it commits
    /// itself instead of handing the batch to the writer thread (see `StorageOwnership`).
    /// A store whose commits cross the network (PostgreSQL) keeps the default, false: its
    /// commits stay on the writer thread.
    var commitsInline: Bool { get }

    /// Asked by whoever just committed, holding the storage: housekeeping is due that must not
    /// run on an event loop (SQLite: a WAL checkpoint, which fsyncs). The writer thread then
    /// runs `maintain`.
    var needsMaintenance: Bool { get }

    /// Does the housekeeping `needsMaintenance` asked for (on the writer thread).
    func maintain()

    /// Releases the store (and whatever keeps other daemons out of it). Idempotent; calls after
    /// it fail with a `StoreError`.
    func close()
}

extension BreakerStorage {
    public var commitsInline: Bool { false }
    public var needsMaintenance: Bool { false }
    public func maintain() {}
}
