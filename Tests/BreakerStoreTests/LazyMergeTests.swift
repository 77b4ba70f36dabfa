import BreakerCore
import BreakerStorageContract
import BreakerStore
import Testing

/// The lazy path: snapshots that wait `lazyDelay` for company, and what arrives meanwhile.
@Suite struct LazyMergeTests {
    /// Before: the merge after the lazy wait copied every field but the dedupe rows, so a key
    /// submitted during the wait was never written.
    @Test func dedupeRowsSubmittedWhileLazySnapshotsWaitAreWritten() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let writer = try makeWriter(path)
        writer.flushSync()
        writer.submitLazily(WriteBatch(breakers: [StoredBreaker(name: "lazy", breaker: CircuitBreaker(createdAt: at(0)))]))
        // The writer now holds "lazy" for up to lazyDelay; this submit is merged into it.
        let row = DedupeRow(breaker: "a", key: "k", state: .closed, generation: 1, stale: false, expiresMs: 9_000_000_000_000)
        model.change("a", on: writer, dedupe: row)
        writer.shutdown()
        let database = try openDatabase(path)
        defer { database.close() }
        #expect(try database.loadDedupe(notExpiredAt: at(0)) == [row])
        #expect(try database.loadAll().map(\.name) == ["a", "lazy"])
    }
}
