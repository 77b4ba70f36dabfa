/// Counters for the daemon's metrics. All grow monotonically except the `last…` values.
public struct StoreWriterStats: Sendable, Hashable {
    public var batchesCommitted: UInt64 = 0
    public var batchesFailed: UInt64 = 0
    /// Of `batchesCommitted`, those an event loop committed itself (see `StorageOwnership`).
    public var batchesCommittedInline: UInt64 = 0
    /// Breaker snapshots in committed batches (a breaker changed ten times between two commits
    /// counts once: that is the saving group commit buys).
    public var breakersWritten: UInt64 = 0
    public var transitionsWritten: UInt64 = 0
    /// Breakers in the most recent committed batch.
    public var lastBatchSize: Int = 0
    /// Time spent in `BreakerStorage.write` for committed batches (by the caller's clock).
    public var lastCommitNanoseconds: UInt64 = 0
    public var totalCommitNanoseconds: UInt64 = 0
    /// Why the most recent batch failed, or nil once a batch commits again. Readiness checks read
    /// it: a daemon that cannot write cannot acknowledge anything.
    public var lastError: StoreError?

    public init() {}

    mutating func record(_ outcome: StoreWriter.CommitOutcome, inline: Bool = false) {
        if let error = outcome.error {
            batchesFailed += 1
            lastError = error
            return
        }
        batchesCommitted += 1
        if inline { batchesCommittedInline += 1 }
        breakersWritten += UInt64(outcome.breakers)
        transitionsWritten += UInt64(outcome.transitions)
        lastBatchSize = outcome.breakers
        lastCommitNanoseconds = outcome.nanoseconds
        totalCommitNanoseconds += outcome.nanoseconds
        lastError = nil
    }
}
