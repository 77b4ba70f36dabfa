import BreakerCore
import BreakerStore

/// One shard's changes not yet handed to the writer: the breakers changed by counted outcomes
/// (with their dedupe keys), kept until the reply that acknowledges them asks for a commit
/// (`BreakerRegistry.whenCommitted`). A record costs a flag check, no copy: the value snapshot
/// of each changed breaker is taken at hand-over, under the shard lock, once per breaker however
/// many records changed it, so a client's read of many records costs one hand-off per shard.
/// Changes with transitions are handed over at once (`afterChange`), and a counted rejection
/// lazily; every hand-over takes what the journal holds, so the writer always receives a
/// breaker's snapshots in the order of its changes (and keeps the last one).
///
/// `@unchecked Sendable` is sound because the shard's `breakers` mutex is this journal's lock:
/// every read and write of its properties (and of `BreakerSlot.journaled`) happens inside
/// `Shard.breakers.withLock`, and nowhere else.
final class ShardJournal: @unchecked Sendable {
    private var changed: [(name: String, slot: BreakerSlot)] = []
    private var changes = WriteBatch()

    /// Notes that `slot` changed (and a dedupe key to commit with it).
    func add(_ name: String, _ slot: BreakerSlot, dedupe: DedupeRow? = nil) {
        if !slot.journaled {
            slot.journaled = true
            changed.append((name, slot))
        }
        if let dedupe { changes.dedupes.append(dedupe) }
    }

    /// Adds a snapshot taken by the caller (a change with transitions), its log rows and key.
    func add(_ snapshot: StoredBreaker, transitions: [LoggedTransition], dedupe: DedupeRow?) {
        changes.breakers.append(snapshot)
        changes.transitions += transitions
        if let dedupe { changes.dedupes.append(dedupe) }
    }

    /// How the writer is to take a hand-over.
    enum Urgency {
        /// Commit now (a change with transitions).
        case now
        /// The commit may wait a moment for company (see `StoreWriter.submitLazily`).
        case lazily
        /// Do not wake the writer: the caller asks for the commit right after (`whenCommitted`).
        case beforeCommitRequest
    }

    /// Snapshots every breaker noted and submits them with the rows, keeping the arrays'
    /// capacity for the next changes.
    func handOver(to writer: StoreWriter, _ urgency: Urgency = .now) {
        guard !changed.isEmpty || !changes.isEmpty else { return }
        for (name, slot) in changed {
            changes.breakers.append(StoredBreaker(name: name, breaker: slot.breaker.storedValue))
            slot.journaled = false
        }
        changed.removeAll(keepingCapacity: true)
        switch urgency {
        case .now: writer.submit(changes)
        case .lazily: writer.submitLazily(changes)
        case .beforeCommitRequest: writer.stage(changes)
        }
        changes.breakers.removeAll(keepingCapacity: true)
        changes.transitions.removeAll(keepingCapacity: true)
        changes.dedupes.removeAll(keepingCapacity: true)
    }
}
