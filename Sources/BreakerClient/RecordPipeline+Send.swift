import BreakerCore
import BreakerWire
import NIOCore

/// Writing a link's records and taking their answers (see `RecordPipeline`).
extension RecordPipeline {
    /// Writes a link's records: several go as `record-batch` lines (at most
    /// `BatchEntry.maxCount` entries each, in order), one alone as a plain record. Each record
    /// keeps its own dedupe key and its own answer inside the batch's reply.
    func send(_ batch: [Record], on connection: DaemonConnection, link: Int) {
        // Consecutive records share a line, up to the protocol's entry limit and well inside the
        // daemon's default line limit (64 KiB; a longer line would be refused whole); a returned
        // permit (its own op) goes alone.
        var groups: [[Record]] = []
        var commands: [Command] = []
        var pending: [(Record, RecordCommand)] = []
        var lineBytes = 0
        func close() {
            guard !pending.isEmpty else { return }
            groups.append(pending.map(\.0))
            commands.append(pending.count == 1 ? .record(pending[0].1) : .recordBatch(pending.map { .record($0.1) }))
            pending.removeAll(keepingCapacity: true)
            lineBytes = 0
        }
        for record in batch {
            let command = record.command(keyPrefix: keyPrefix)
            if case .record(let r) = command {
                // An upper bound of the entry's size: its name and permit plus every other field
                // at its longest (op, count, generation, duration, a 40-byte dedupe key, JSON).
                let entryBytes = r.breaker.utf8.count + (r.permit?.utf8.count ?? 0) + 200
                if lineBytes + entryBytes > Self.maxBatchLineBytes { close() }
                pending.append((record, r))
                lineBytes += entryBytes
                if pending.count == BatchEntry.maxCount { close() }
            } else {
                close()
                groups.append([record])
                commands.append(command)
            }
        }
        close()
        let futures = connection.send(batch: commands, timeout: timeout)
        let first = batch.filter { $0.writes == 1 }
        telemetry.count(.recordsSent, by: first.count)
        telemetry.count(.outcomesSent, by: first.reduce(0) { $0 + $1.count })
        if first.count < batch.count { telemetry.count(.recordsResent, by: batch.count - first.count) }
        for (group, future) in zip(groups, futures) {
            future.whenComplete { result in
                var requeued = false
                switch result {
                case .success(.recorded(let state, let generation, _)) where group.count == 1:  // a record, or a returned permit
                    self.acknowledged(group[0], state: state, generation: generation)
                case .success(.recordedBatch(let results)) where results.count == group.count:
                    for (record, answer) in zip(group, results) {
                        switch answer {
                        case .recorded(let state, let generation, _): self.acknowledged(record, state: state, generation: generation)
                        case .error: self.telemetry.count(.recordsRejected)  // an answer: never resent
                        }
                    }
                case .success:
                    self.telemetry.count(.recordsLost, by: group.count)  // cannot happen: the handler checks the kind
                case .failure(let error as BreakerClientError) where error.code == .notLeader:
                    // A standby refused the line: resent, with the same keys, to the leader.
                    for record in group { requeued = self.requeue(record) || requeued }
                    self.links[link].redirect(leader: error.leader, from: connection.endpoint, closing: connection)
                case .failure(let error as BreakerClientError) where !error.isConnectionFailure:
                    self.telemetry.count(.recordsRejected, by: group.count)
                case .failure:  // the connection failed before the reply: counted or not
                    for record in group { requeued = self.connectionFailed(record) || requeued }
                }
                let more = self.state.withLock { st -> Bool in
                    st.inFlight[link] -= group.count
                    return !st.queue.isEmpty
                }
                // A record queued again waits for the next connection (whose `up` hook kicks),
                // not for this one, which is going down.
                if more, !requeued || self.links[link].connection !== connection { self.kick() }
                self.wakeWaitersIfIdle()
            }
        }
    }

    /// A `record-batch` line stays under this (the daemon's default `--max-line-length` is 65,536).
    static let maxBatchLineBytes = 60_000

    private func acknowledged(_ record: Record, state: BreakerState, generation: UInt64) {
        telemetry.count(.recordsAcknowledged)
        onReply(record.entry, state, generation, record.epoch)
    }
}
