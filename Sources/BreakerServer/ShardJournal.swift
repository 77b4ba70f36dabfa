import BreakerCore
import BreakerStore

/// One shard's changes not yet handed to the writer: snapshots of counted outcomes, with their
/// dedupe keys, kept until the reply that acknowledges them asks for a commit
/// (`BreakerRegistry.whenCommitted`), so a client's read of many records costs one hand-off to
/// the writer, not one per record. Changes with transitions are handed over at once
/// (`afterChange`), and a counted rejection lazily, each behind what this journal already holds,
/// so one breaker's snapshots reach the writer in the order of its changes (the writer keeps the
/// last one).
///
/// `@unchecked Sendable` is sound because the shard's `breakers` mutex is this journal's lock:
/// every read and write of `changes` happens inside `Shard.breakers.withLock`, and nowhere else.
final class ShardJournal: @unchecked Sendable {
    private var changes = WriteBatch()

    /// Adds a snapshot (and its dedupe key and log rows). A snapshot of the same breaker just
    /// before it is replaced: the newer one holds every change the older one did.
    func add(_ snapshot: StoredBreaker, transitions: [LoggedTransition] = [], dedupe: DedupeRow? = nil) {
        if let last = changes.breakers.indices.last, changes.breakers[last].name == snapshot.name {
            changes.breakers[last] = snapshot
        } else {
            changes.breakers.append(snapshot)
        }
        if !transitions.isEmpty { changes.transitions += transitions }
        if let dedupe { changes.dedupes.append(dedupe) }
    }

    /// Submits everything journaled, keeping the arrays' capacity for the next changes.
    /// `lazily`: the commit may wait a moment for company (see `StoreWriter.submitLazily`).
    func handOver(to writer: StoreWriter, lazily: Bool = false) {
        guard !changes.isEmpty else { return }
        if lazily { writer.submitLazily(changes) } else { writer.submit(changes) }
        changes.breakers.removeAll(keepingCapacity: true)
        changes.transitions.removeAll(keepingCapacity: true)
        changes.dedupes.removeAll(keepingCapacity: true)
    }
}
