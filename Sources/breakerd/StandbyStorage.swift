import BreakerCore
import BreakerStore

/// The storage of a standby's registry: nothing to load, and every write refused. A standby's
/// registry only answers `ping` and `hello` (its gate never opens), so nothing should write; if
/// something did (a bug), it is refused rather than kept. A batch with no data (the registry's
/// periodic dedupe prune) succeeds: there is nothing to prune.
final class StandbyStorage: BreakerStorage {
    let location = "standby (no breakers: this daemon does not lead its cluster)"

    func loadAll() throws(StoreError) -> [StoredBreaker] { [] }

    func loadDedupe(notExpiredAt now: Timestamp, limit: Int) throws(StoreError) -> [DedupeRow] { [] }

    func write(_ batch: WriteBatch) throws(StoreError) {
        guard !batch.breakers.isEmpty || !batch.transitions.isEmpty || !batch.dedupes.isEmpty else { return }
        throw StoreError(code: .locked, message: "a standby does not write: it does not lead its cluster")
    }

    func history(breaker: String, limit: Int) throws(StoreError) -> [LoggedTransition] { [] }

    func sizeBytes() -> Int64 { 0 }

    func close() {}
}
