import BreakerCore

/// What callers handed the writer since it last looked, or what a failed batch must still
/// write. Every field is merged by `absorb`, the one place that combines two of them, so no
/// merge can forget a field.
struct PendingWrites {
    var writes = WriteBatch()
    var completions: [StoreWriter.Completion] = []
    /// History reads, size measurements and flush barriers, run after the batch taken with them.
    var jobs: [StoreWriter.Job] = []
    /// Something here wants a commit now; false while only lazy snapshots wait.
    var urgent = false

    mutating func absorb(_ later: PendingWrites) {
        writes.absorb(later.writes)
        completions += later.completions
        jobs += later.jobs
        urgent = urgent || later.urgent
    }

    /// The writes alone, for a retry: completions and jobs are answered once, with their batch.
    var writesOnly: PendingWrites { PendingWrites(writes: writes) }
}

extension WriteBatch {
    /// Appends `later`'s changes after this batch's: for a breaker in both, `later`'s snapshot
    /// is the newer one (see `latestSnapshots`).
    public mutating func absorb(_ later: WriteBatch) {
        breakers += later.breakers
        transitions += later.transitions
        dedupes += later.dedupes
        if let prune = later.pruneDedupeBefore { pruneDedupeBefore = max(pruneDedupeBefore ?? prune, prune) }
    }

    /// Keeps only the last snapshot of each breaker: snapshots are submitted in the order the
    /// changes happened, so the last one holds every earlier change.
    mutating func keepLatestSnapshots() {
        var seen = Set<String>()
        var latest = breakers.reversed().filter { seen.insert($0.name).inserted }
        latest.reverse()
        breakers = latest
    }
}
