import Synchronization

/// The daemon-wide bound on remembered dedupe keys (`--max-dedupe-keys`), with the count of
/// keys held and of keys not remembered because the bound was reached.
///
/// One global count, not `limit / shardCount` per shard: shards are picked by breaker name, so
/// every key of one busy breaker lands in the same shard, and a per-shard share would cap a
/// single-breaker workload (the common one: one client, one dependency) at 1/32 of what the
/// operator configured. The count is one relaxed atomic add per new key, taken under the key's
/// shard lock like `reserveBreaker`; it may briefly read one or two over the limit while a
/// reservation is undone, never more than that per concurrent recorder.
final class DedupeBudget: Sendable {
    /// 0 turns deduplication off (see `BreakerRegistry.Settings.maxDedupeKeys`).
    let limit: Int
    private let held = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    /// Daemon milliseconds before which no further "limit reached" warning is logged.
    private let nextWarningMs = Atomic<Int64>(0)
    /// Daemon milliseconds before which a full table does not sweep every shard again.
    private let nextFullSweepMs = Atomic<Int64>(0)

    /// At most one warning a minute: a full table under load drops a key per record, and the
    /// counter, not the log, is where the rate shows.
    static let warningIntervalMs: Int64 = 60_000
    /// A full table sweeps every shard at most once a second: each record already sweeps its
    /// own shard, this reclaims expired keys in shards that see no traffic.
    static let fullSweepIntervalMs: Int64 = 1_000

    init(limit: Int) { self.limit = max(0, limit) }

    var count: Int { held.load(ordering: .relaxed) }
    var droppedCount: Int { dropped.load(ordering: .relaxed) }
    var isFull: Bool { count >= limit }

    /// Takes a place for a new key; false (and nothing taken) at the limit.
    func reserve() -> Bool {
        guard held.add(1, ordering: .relaxed).newValue > limit else { return true }
        held.subtract(1, ordering: .relaxed)
        return false
    }

    func added(_ keys: Int) { if keys != 0 { held.add(keys, ordering: .relaxed) } }
    func released(_ keys: Int) { if keys != 0 { held.subtract(keys, ordering: .relaxed) } }

    /// Counts one key not remembered; true when this one should be logged.
    func drop(nowMs: Int64) -> Bool {
        dropped.add(1, ordering: .relaxed)
        return claim(nextWarningMs, nowMs: nowMs, every: Self.warningIntervalMs)
    }

    /// True for the one caller that should sweep every shard now.
    func claimFullSweep(nowMs: Int64) -> Bool {
        claim(nextFullSweepMs, nowMs: nowMs, every: Self.fullSweepIntervalMs)
    }

    private func claim(_ next: borrowing Atomic<Int64>, nowMs: Int64, every intervalMs: Int64) -> Bool {
        let due = next.load(ordering: .relaxed)
        guard nowMs >= due else { return false }
        return next.compareExchange(expected: due, desired: nowMs + intervalMs, ordering: .relaxed).exchanged
    }
}
