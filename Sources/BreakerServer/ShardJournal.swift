import BreakerCore
import BreakerStore

/// One shard's changes not yet handed to the writer: the breakers changed by counted outcomes
/// (with their dedupe keys), kept until a reply that acknowledges them asks for a commit
/// (`BreakerRegistry.whenCommitted`). A record costs a flag check, no copy: the value snapshot
/// of each changed breaker is taken when the commit is asked for, under the shard lock, once per
/// breaker however many records changed it; an event loop asks once per turn for all the
/// replies its connections wait for (`CommitCoalescer`).
/// Changes with transitions are handed over at once (`afterChange`) unless the reply asks for
/// the commit anyway (a record's trip), and a counted rejection lazily; every hand-over takes
/// what the journal holds, under the shard lock, so the writer always receives a breaker's
/// snapshots in the order of its changes (and keeps the last one).
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
        /// For the commit the caller asks for next (see `StoreWriter.stage`).
        case quietly
    }

    /// Submits everything noted to the writer.
    func handOver(to writer: StoreWriter, _ urgency: Urgency = .now) {
        guard !changed.isEmpty || !changes.isEmpty else { return }
        snapshotChanged(into: &changes.breakers)
        switch urgency {
        case .now: writer.submit(changes)
        case .lazily: writer.submitLazily(changes)
        case .quietly: writer.stage(changes)
        }
        clearChanges()
    }

    /// Snapshots taken now hold every change so far: they go after any taken earlier.
    private func snapshotChanged(into snapshots: inout [StoredBreaker]) {
        for (name, slot) in changed {
            snapshots.append(StoredBreaker(name: name, breaker: slot.breaker.storedValue))
            slot.journaled = false
        }
        changed.removeAll(keepingCapacity: true)
    }

    /// Empties the rows, keeping the arrays' capacity for the next changes.
    private func clearChanges() {
        changes.breakers.removeAll(keepingCapacity: true)
        changes.transitions.removeAll(keepingCapacity: true)
        changes.dedupes.removeAll(keepingCapacity: true)
    }
}
