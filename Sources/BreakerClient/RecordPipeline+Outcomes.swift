import BreakerCore
import BreakerWire

/// The outcomes a pipeline is handed: successes folded, failures and trials sent at once.
extension RecordPipeline {
    /// A success following a CLOSED decision of `generation`: folded.
    @inline(__always)
    func success(_ entry: BreakerEntry, generation: UInt64, now: UInt64) {
        entry.state.withLock { s in
            if s.fold != nil, s.fold!.generation == generation, now < s.fold!.deadline, s.fold!.count < RecordCommand.maxCount {
                s.fold!.count &+= 1
                return
            }
            if let old = s.fold { append(Record(entry: entry, outcome: .success, count: old.count, generation: old.generation), urgent: false) }
            // On the pipeline's grid (multiples of the window), so every breaker's successes
            // close in the same flush and go as one record-batch line.
            let deadline = window == 0 ? now : (now / window &+ 1) &* window
            s.fold = Fold(generation: generation, count: 1, deadline: deadline)
            if !s.foldRegistered {
                s.foldRegistered = true
                register(entry, due: deadline, now: now)
            }
        }
    }

    /// A failure (with its generation) or a half-open trial (with its permit): sent at once,
    /// after the breaker's folded successes.
    func report(_ entry: BreakerEntry, _ outcome: Outcome, generation: UInt64?, permit: String?) {
        entry.state.withLock { s in
            closeFold(of: entry, &s)
            append(Record(entry: entry, outcome: outcome, count: 1, generation: generation, permit: permit), urgent: true)
        }
    }

    /// A half-open trial's permit handed back (`return-permit`): sent at once, after the
    /// breaker's folded successes, like a trial's record.
    func returnPermit(_ entry: BreakerEntry, permit: String) {
        entry.state.withLock { s in
            closeFold(of: entry, &s)
            append(Record(returning: permit, entry: entry), urgent: true)
        }
    }

    /// Queues the breaker's open fold, so what follows reaches the daemon after its successes.
    private func closeFold(of entry: BreakerEntry, _ s: inout EntryState) {
        guard let old = s.fold else { return }
        s.fold = nil
        append(Record(entry: entry, outcome: .success, count: old.count, generation: old.generation), urgent: false)
    }
}
