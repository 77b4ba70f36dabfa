import Metrics

/// The writer's own metrics, through swift-metrics only: the executable picks the backend
/// (Prometheus in breakerd), and without one these are no-ops.
///
/// Handles are created once, when the writer starts, so recording on the commit path is one
/// atomic update each, with no lookup by name.
public struct StoreMetrics: Sendable {
    /// Names as exported; `breakerd` sets histogram buckets and help text by these labels.
    public enum Name {
        public static let batches = "breakerd_store_batches_total"
        public static let batchSize = "breakerd_store_batch_size"
        public static let commitDuration = "breakerd_store_commit_duration_seconds"
        public static let transitionsWritten = "breakerd_store_transitions_written_total"
    }

    let committed: Counter
    let failed: Counter
    /// Breakers per committed batch: how much group commit is saving.
    let batchSize: Recorder
    /// Time in `BreakerStorage.write` per committed batch.
    let commitDuration: Timer
    let transitionsWritten: Counter

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        committed = Counter(label: Name.batches, dimensions: [("result", "committed")], factory: factory)
        failed = Counter(label: Name.batches, dimensions: [("result", "failed")], factory: factory)
        batchSize = Recorder(label: Name.batchSize, dimensions: [], aggregate: true, factory: factory)
        commitDuration = Timer(label: Name.commitDuration, dimensions: [], factory: factory)
        transitionsWritten = Counter(label: Name.transitionsWritten, dimensions: [], factory: factory)
    }

    func recordCommit(breakers: Int, transitions: Int, nanoseconds: UInt64) {
        committed.increment()
        batchSize.record(breakers)
        commitDuration.recordNanoseconds(Int64(clamping: nanoseconds))
        if transitions > 0 { transitionsWritten.increment(by: transitions) }
    }

    func recordFailure() {
        failed.increment()
    }
}
