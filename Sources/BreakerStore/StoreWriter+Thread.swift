import BreakerCore
import Dispatch
import Logging

/// The writer thread: take what is pending, commit it, answer, repeat.
extension StoreWriter {
    func run(_ storage: any BreakerStorage) {
        var retry = PendingWrites()
        var backoff: Duration?
        while true {
            if let backoff {
                _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(backoff.nanoseconds)))
            } else {
                wakeUp.wait()
            }
            var (taken, stopping) = take()
            if !taken.urgent && !stopping && retry.writes.isEmpty && !taken.writes.isEmpty {
                // Only lazy snapshots: give other work `lazyDelay` to come and share the commit.
                state.withLock { $0.holdingLazy = true }
                _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(Self.lazyDelay.nanoseconds)))
                let (more, stop) = take()
                taken.absorb(more)
                stopping = stop
            }
            retry.absorb(taken.writesOnly)
            var result: Result<Void, StoreError> = .success(())
            let size = retry.writes.breakers.count
            if !retry.writes.isEmpty {
                result = commit(&retry.writes, to: storage)
                switch result {
                case .success:
                    retry = PendingWrites()
                    backoff = nil
                case .failure:
                    retry.writes.transitions = retained(retry.writes.transitions)
                    backoff = min((backoff ?? Self.firstBackoff / 2) * 2, Self.maxBackoff)
                }
            }
            for completion in taken.completions { completion(result) }
            for job in taken.jobs { job(storage) }
            if size >= Self.trimAfterBatch { releaseFreeHeap() }
            if stopping { break }
        }
        if !retry.writes.isEmpty, case .failure = commit(&retry.writes, to: storage) {
            logger.error("shutting down with unsaved changes", metadata: [
                "store": "\(location)", "breakers": "\(retry.writes.breakers.count)",
                "transitions": "\(retry.writes.transitions.count)",
            ])
        }
        storage.close()
    }

    /// Everything pending, leaving the queue empty (and ready to be signalled again).
    private func take() -> (PendingWrites, stopping: Bool) {
        state.withLock { state in
            defer {
                state.pending = PendingWrites()
                state.signalled = false
                state.holdingLazy = false
            }
            return (state.pending, state.stopping)
        }
    }

    /// Writes `batch` (first reduced to the latest snapshot per breaker, which a retry keeps).
    private func commit(_ batch: inout WriteBatch, to storage: any BreakerStorage) -> Result<Void, StoreError> {
        batch.keepLatestSnapshots()
        let start = elapsed()
        do {
            try storage.write(batch)
        } catch {
            state.withLock { $0.stats.batchesFailed += 1; $0.stats.lastError = error }
            metrics.recordFailure()
            logger.error("store write failed; will retry", metadata: [
                "store": "\(location)", "code": "\(error.code.rawValue)", "error": "\(error.message)",
                "breakers": "\(batch.breakers.count)", "transitions": "\(batch.transitions.count)",
            ])
            return .failure(error)
        }
        let nanoseconds = UInt64(max(0, (elapsed() - start).nanoseconds))
        let (breakers, transitions) = (batch.breakers.count, batch.transitions.count)
        state.withLock { state in
            state.stats.batchesCommitted += 1
            state.stats.breakersWritten += UInt64(breakers)
            state.stats.transitionsWritten += UInt64(transitions)
            state.stats.lastBatchSize = breakers
            state.stats.lastCommitNanoseconds = nanoseconds
            state.stats.totalCommitNanoseconds += nanoseconds
            state.stats.lastError = nil
        }
        metrics.recordCommit(breakers: breakers, transitions: transitions, nanoseconds: nanoseconds)
        return .success(())
    }

    private func retained(_ transitions: [LoggedTransition]) -> [LoggedTransition] {
        let excess = transitions.count - Self.maxRetainedTransitions
        guard excess > 0 else { return transitions }
        logger.error("dropping unsaved transition log rows", metadata: ["store": "\(location)", "dropped": "\(excess)"])
        return Array(transitions.dropFirst(excess))
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
