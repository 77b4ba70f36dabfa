import BreakerCore
import BreakerStore
import BreakerWire
import Logging

extension BreakerRegistry {
    /// A record with a client-chosen idempotency key. The first record with a key is counted
    /// and its answer remembered for `dedupeWindowMs`; a retry within the window is not counted
    /// and gets the first answer, after the same commit. Count and key change under this
    /// shard's dedupe lock, and the key goes to the writer with the snapshot that holds the
    /// count (`mutate`'s `remember`), so both land in one transaction: after a crash either both
    /// are on disk or neither is.
    ///
    /// At `maxDedupeKeys` (after expired keys are swept) a new key is not remembered: the record
    /// is still counted and answered as usual, so a retry of it may count twice. Refusing the
    /// record instead would turn a memory bound into an outage for every client that sends keys.
    func dedupedRecord(_ record: RecordCommand, key: String, reporter: String?) -> RequestAction {
        let budget = dedupeBudget
        guard budget.limit > 0 else { return self.record(record, reporter: reporter) }  // dedupe off
        let name = record.breaker
        if budget.isFull, budget.claimFullSweep(nowMs: clock.now().millisecondsSinceEpoch) {
            sweepDedupe()
        }
        let shard = shardIndex(of: name)
        let (action, dropped) = shards[shard].dedupe.withLock { table -> (RequestAction, Bool) in
            let now = clock.now().millisecondsSinceEpoch
            budget.released(table.sweep(now: now))
            let dedupeKey = DedupeKey(breaker: name, key: key)
            if let first = table.entries[dedupeKey], first.expiresMs > now {
                return (.replyAfterCommit(.recorded(state: first.state, generation: first.generation, stale: first.stale),
                                          CommitScope(shard: shard)), false)
            }
            var dropped = false
            let action = self.record(record, reporter: reporter, shard: shard) { recorded in
                // An expired key still in the table (not yet popped) already holds its place.
                guard table.entries[dedupeKey] != nil || budget.reserve() else {
                    dropped = true
                    return nil
                }
                let row = DedupeRow(breaker: name, key: key, state: recorded.state, generation: recorded.generation,
                                    stale: recorded.stale, expiresMs: now + settings.dedupeWindowMs)
                table.remember(row)
                return row
            }
            return (action, dropped)
        }
        if dropped { dedupeKeyDropped(breaker: name) }
        return action
    }

    /// Counted and logged outside the shard lock: a log handler may write to a file or a pipe.
    private func dedupeKeyDropped(breaker: String) {
        metrics.dedupeKeysDropped.increment()
        guard dedupeBudget.drop(nowMs: clock.now().millisecondsSinceEpoch) else { return }
        logger.warning("dedupe key not remembered: the daemon holds its limit of dedupe keys (--max-dedupe-keys); records are still counted, but a retry of such a record may be counted twice", metadata: [
            "breaker": "\(breaker)", "max_dedupe_keys": "\(dedupeBudget.limit)",
            "dropped_total": "\(dedupeBudget.droppedCount)",
        ])
    }

    /// Forgets expired keys in every shard (one shard lock at a time, never two) and brings the
    /// `breakerd_dedupe_keys` gauge up to date. Run by a full table and at scrape time.
    func sweepDedupe() {
        for shard in shards {
            let removed = shard.dedupe.withLock { $0.sweep(now: clock.now().millisecondsSinceEpoch) }
            dedupeBudget.released(removed)
        }
        metrics.dedupeKeys.record(dedupeBudget.count)
    }

    /// Sets the gauge, and says when start-up filled the table: any keys beyond the limit stayed on
    /// disk unread, so a retry of one of those records may be counted twice.
    func dedupeLoaded() {
        let loaded = dedupeBudget.count
        metrics.dedupeKeys.record(loaded)
        guard loaded > 0, loaded >= dedupeBudget.limit else { return }
        logger.warning("dedupe keys loaded up to the limit (--max-dedupe-keys); any keys expiring sooner were not loaded, and a retry of their records may be counted twice", metadata: [
            "loaded": "\(loaded)", "max_dedupe_keys": "\(dedupeBudget.limit)",
        ])
    }

    /// Dedupe keys remembered now (expired ones not yet swept included); at most `maxDedupeKeys`.
    public var dedupeKeyCount: Int { dedupeBudget.count }

    /// Records whose dedupe key was not remembered because `maxDedupeKeys` was reached.
    public var dedupeKeysDropped: Int { dedupeBudget.droppedCount }

    /// Reads the remembered keys at start-up: at most the limit, those expiring last, each
    /// clamped to the current window (a window shortened by the operator applies to old keys
    /// too, and the shard queues stay in expiry order). Returns how many were loaded.
    static func loadDedupe(from storage: any BreakerStorage, into shards: [Shard], settings: Settings,
                           now: Timestamp) throws(StoreError) -> Int {
        let rows = try storage.loadDedupe(notExpiredAt: now, limit: max(0, settings.maxDedupeKeys))
        let windowEnd = now.millisecondsSinceEpoch + settings.dedupeWindowMs
        // Oldest expiry first, as `remember` wants them; each shard's table filled at once.
        for (shard, group) in zip(shards, byShard(rows.reversed(), count: shards.count, name: \.breaker)) {
            shard.dedupe.withLock { table in
                table.reserveCapacity(group.count)
                for var row in group {
                    row.expiresMs = min(row.expiresMs, windowEnd)
                    table.remember(row)
                }
            }
        }
        return rows.count
    }

    /// Every `dedupePruneInterval` of the daemon's clock, asks the writer to delete the keys
    /// expired by then with its next batch: the store has no clock of its own.
    func schedulePrune() {
        clock.run(at: clock.now().adding(milliseconds: Self.dedupePruneInterval.milliseconds)) { [weak self] in
            guard let self else { return }
            self.writer.pruneDedupe(before: self.clock.now())
            self.schedulePrune()
        }
    }

    static let dedupePruneInterval: Duration = .seconds(60)
}
