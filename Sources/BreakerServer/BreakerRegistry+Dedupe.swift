import BreakerStore
import BreakerWire

/// A record's `dedupe` key, per breaker.
struct DedupeKey: Hashable {
    var breaker: String
    var key: String

    init(breaker: String, key: String) {
        self.breaker = breaker
        self.key = key
    }

    init(_ row: DedupeRow) { self.init(breaker: row.breaker, key: row.key) }
}

/// One shard's remembered keys. Expired ones are swept at most every `sweepEveryMs`, so the
/// table holds about one window's worth of keys.
struct DedupeTable {
    var entries: [DedupeKey: DedupeRow] = [:]
    /// Keys recorded but not yet handed to the writer, by breaker (see `BreakerSnapshot`).
    var unsaved: [String: [DedupeRow]] = [:]
    var nextSweepMs: Int64 = 0

    static let sweepEveryMs: Int64 = 10_000

    mutating func sweep(now: Int64) {
        guard now >= nextSweepMs else { return }
        nextSweepMs = now + Self.sweepEveryMs
        entries = entries.filter { $0.value.expiresMs > now }
    }
}

extension BreakerRegistry {
    /// A record with a client-chosen idempotency key. The first record with a key is counted
    /// and its answer remembered for `dedupeWindowMs`; a retry within the window is not counted
    /// and gets the first answer, after the same commit. Count and key change under this
    /// shard's dedupe lock, and the writer's snapshot takes the breaker and its unsaved keys
    /// under the same lock, so both land in one transaction: after a crash either both are on
    /// disk or neither is.
    func dedupedRecord(_ record: RecordCommand, key: String, reporter: String?) -> Execution {
        let name = record.breaker
        return Self.shard(for: name, in: shards).dedupe.withLock { table -> Execution in
            let now = clock.now().millisecondsSinceEpoch
            let dedupeKey = DedupeKey(breaker: name, key: key)
            if let first = table.entries[dedupeKey], first.expiresMs > now {
                return .afterCommit(.recorded(state: first.state, generation: first.generation, stale: first.stale), breaker: name)
            }
            let execution = self.record(record, reporter: reporter)
            guard case .afterCommit(.recorded(let state, let generation, let stale), _) = execution else { return execution }
            let row = DedupeRow(breaker: name, key: key, state: state, generation: generation, stale: stale,
                                expiresMs: now + settings.dedupeWindowMs)
            table.sweep(now: now)
            table.entries[dedupeKey] = row
            table.unsaved[name, default: []].append(row)
            return execution
        }
    }
}
