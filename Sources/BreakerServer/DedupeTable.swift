import BreakerStore

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

/// One shard's remembered keys, guarded by the shard's `dedupe` mutex.
///
/// Keys are also kept in a queue in the order they were remembered. Every key gets the same
/// window on the daemon's monotonic timeline, so that order is expiry order, and `sweep` forgets
/// expired keys by popping the front: O(1) amortized per key instead of a scan of the whole
/// table. That is what lets a full table make room on every record (see `--max-dedupe-keys`)
/// without a full scan each time. Keys loaded at start-up are queued first, oldest expiry first,
/// with their expiry clamped to the current window, so the order holds across a restart too.
struct DedupeTable {
    var entries: [DedupeKey: DedupeRow] = [:]
    /// Remembered keys with the expiry they were queued with; `order[..<head]` is already popped.
    /// A key remembered again after it expired is queued again: the old item then no longer
    /// matches `entries` and is skipped when popped.
    private var order: [(key: DedupeKey, expiresMs: Int64)] = []
    private var head = 0

    mutating func reserveCapacity(_ count: Int) {
        entries.reserveCapacity(count)
        order.reserveCapacity(count)
    }

    /// Remembers a key (saving it is the writer's business). Call in expiry order.
    mutating func remember(_ row: DedupeRow) {
        let key = DedupeKey(row)
        entries[key] = row
        order.append((key, row.expiresMs))
    }

    /// Forgets every key expired at `now`; returns how many keys left `entries`, for the
    /// daemon-wide count (`DedupeBudget`).
    mutating func sweep(now: Int64) -> Int {
        var removed = 0
        while head < order.count, order[head].expiresMs <= now {
            let key = order[head].key
            if let row = entries[key], row.expiresMs <= now {
                entries.removeValue(forKey: key)
                removed += 1
            }
            head += 1
        }
        // Drop the popped prefix once it is at least half the array: amortized O(1) per key.
        if head == order.count {
            order.removeAll(keepingCapacity: order.count < 65_536)
            head = 0
        } else if head >= 1_024, head * 2 >= order.count {
            order.removeSubrange(0..<head)
            head = 0
        }
        return removed
    }
}
