import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Testing

/// The one-call commit path (`PostgresBatchProcedure`): a batch is committed by the procedure
/// before its call returns, never by a transaction the session happens to be in, and a server
/// that cannot have the procedure still gets every batch (BEGIN … COMMIT).
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct PostgresBatchProcedureTests {
    static let batch = WriteBatch(
        breakers: [StoredBreaker(name: "a", breaker: CircuitBreaker(createdAt: at(0))),
                   StoredBreaker(name: "b", breaker: CircuitBreaker(createdAt: at(1)))],
        dedupes: [DedupeRow(breaker: "a", key: "k1", state: .closed, generation: 0, stale: false, expiresMs: at(9_000).millisecondsSinceEpoch)])

    @Test func aSessionLeftInsideATransactionCannotCommitABatchAndTheNextWriteSucceedsAfterIt() throws {
        let (_, url) = try PostgresCluster.get().freshDatabase()
        let store = try leaderStore(url)
        defer { store.close() }
        try store.executeForTesting("BEGIN")
        // The procedure's COMMIT is refused inside a transaction block: the batch does not join a
        // transaction that someone else would commit later.
        let error = thrown(StoreError.self) { try store.write(Self.batch) }
        #expect(error?.code == .io)
        #expect(error?.message.contains("invalid transaction termination (SQLSTATE 2D000)") == true, "\(String(describing: error))")
        try store.executeForTesting("ROLLBACK")
        #expect(try store.loadAll() == [])
        // The rollback took the procedure (created inside that transaction) with it; it is made again.
        try store.write(Self.batch)
        #expect(try store.loadAll().map(\.name).sorted() == ["a", "b"])
        #expect(try store.loadDedupe(notExpiredAt: at(0), limit: 10) == Self.batch.dedupes)
    }

    @Test func withoutTheTemporaryPrivilegeBatchesAreCommittedWithBeginAndCommit() throws {
        let pg = try PostgresCluster.get()
        let (name, _) = try pg.freshDatabase()
        let role = "\(name)_owner"
        try pg.sql("CREATE ROLE \(role) LOGIN")
        try pg.sql("ALTER DATABASE \(name) OWNER TO \(role)")
        try pg.sql("REVOKE TEMPORARY ON DATABASE \(name) FROM PUBLIC, \(role)")
        let url = "postgres://\(role)@127.0.0.1:\(pg.port)/\(name)"
        let store = try leaderStore(url)
        try store.write(Self.batch)
        let transition = LoggedTransition(
            breaker: "a", transition: Transition(from: .closed, to: .open, generation: 1, at: at(5), reason: .failureThreshold),
            actor: nil, note: nil)
        try store.write(WriteBatch(transitions: [transition]))
        #expect(try pg.sql("SELECT count(*) FROM pg_proc WHERE proname = 'breakerd_write_batch'", database: name) == "0")
        store.close()
        let reopened = try leaderStore(url)
        defer { reopened.close() }
        #expect(try reopened.loadAll().map(\.name).sorted() == ["a", "b"])
        #expect(try reopened.loadDedupe(notExpiredAt: at(0), limit: 10) == Self.batch.dedupes)
        #expect(try reopened.history(breaker: "a", limit: 10) == [transition])
    }
}
