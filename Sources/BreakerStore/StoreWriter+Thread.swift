import BreakerCore
import Dispatch
import Logging

/// The writer thread: wait to be needed, take what is pending, commit it, answer, run jobs,
/// hand the storage back (see `StorageOwnership` for when it is needed).
extension StoreWriter {
    func run(_ storage: any BreakerStorage) {
        var backoff: Duration?
        var afterLazyHold = false
        while true {
            if afterLazyHold {
                _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(Self.lazyDelay.nanoseconds)))
            } else if let backoff {
                _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(backoff.nanoseconds)))
            } else {
                wakeUp.wait()
            }
            let action = state.withLock { $0.ownership.writerWoke(afterLazyHold: afterLazyHold) }
            afterLazyHold = false
            guard case .run(let taken, let stopping) = action else {
                if case .holdLazy = action { afterLazyHold = true }
                continue
            }
            var writes = taken.writes
            let outcome = writes.isEmpty ? nil : commit(&writes, to: storage)
            if let outcome {
                backoff = outcome.failed ? min((backoff ?? Self.firstBackoff / 2) * 2, Self.maxBackoff) : nil
                // Before the completions and jobs: a flush sees the stats of what it waited for.
                state.withLock { $0.stats.record(outcome) }
            }
            let result = outcome?.result ?? .success(())
            for completion in taken.completions { completion(result) }
            if outcome != nil, storage.needsMaintenance { storage.maintain() }
            for job in taken.jobs { job(storage) }
            let next = state.withLock { state in
                state.ownership.writerFinished(failed: outcome?.failed == true ? retained(writes) : nil)
            }
            if case .wakeWriter = next { wakeUp.signal() }
            if writes.breakers.count >= Self.trimAfterBatch { releaseFreeHeap() }
            if stopping { break }
        }
        var leftover = state.withLock { $0.ownership.takeLeftoverWrites() }
        if !leftover.isEmpty, commit(&leftover, to: storage).failed {
            logger.error("shutting down with unsaved changes", metadata: [
                "store": "\(location)", "breakers": "\(leftover.breakers.count)",
                "transitions": "\(leftover.transitions.count)",
            ])
        }
        storage.close()
    }

    /// What one `BreakerStorage.write` did, for the stats (recorded under the state lock by
    /// whoever holds the storage, together with handing it back).
    struct CommitOutcome {
        var error: StoreError?
        var breakers = 0
        var transitions = 0
        var nanoseconds: UInt64 = 0

        var failed: Bool { error != nil }
        var result: Result<Void, StoreError> { error.map { .failure($0) } ?? .success(()) }
    }

    /// Writes `batch` (first reduced to the latest snapshot per breaker, which a retry keeps).
    /// Called only by the storage's current holder.
    func commit(_ batch: inout WriteBatch, to storage: any BreakerStorage) -> CommitOutcome {
        batch.keepLatestSnapshots()
        let start = elapsed()
        do {
            try storage.write(batch)
        } catch {
            metrics.recordFailure()
            logger.error("store write failed; will retry", metadata: [
                "store": "\(location)", "code": "\(error.code.rawValue)", "error": "\(error.message)",
                "breakers": "\(batch.breakers.count)", "transitions": "\(batch.transitions.count)",
            ])
            return CommitOutcome(error: error)
        }
        let nanoseconds = UInt64(max(0, (elapsed() - start).nanoseconds))
        let (breakers, transitions) = (batch.breakers.count, batch.transitions.count)
        metrics.recordCommit(breakers: breakers, transitions: transitions, nanoseconds: nanoseconds)
        return CommitOutcome(breakers: breakers, transitions: transitions, nanoseconds: nanoseconds)
    }

    /// A failed batch's writes as kept for the retry: at most `maxRetainedTransitions` log rows.
    func retained(_ failed: WriteBatch) -> WriteBatch {
        let excess = failed.transitions.count - Self.maxRetainedTransitions
        guard excess > 0 else { return failed }
        logger.error("dropping unsaved transition log rows", metadata: ["store": "\(location)", "dropped": "\(excess)"])
        var kept = failed
        kept.transitions = Array(failed.transitions.dropFirst(excess))
        return kept
    }
}

extension Duration {
    /// Whole nanoseconds, saturating; enough for backoffs and commit latencies.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
