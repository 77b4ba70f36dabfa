import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Testing

/// A breaker row the writer could not have written, changed behind the store's back with psql,
/// fails `loadAll` with `.corrupt`, naming the database and the breaker: the same rules as
/// SQLite's (`StoredBreakerRow.decode`), with PostgreSQL's typed columns calling a NULL where a
/// value belongs missing rather than a wrong type.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct PostgresBreakerRowTests {
    @Test(arguments: [
        ("UPDATE breakers SET state = 'sideways'", "has an unknown state \"sideways\""),
        ("UPDATE breakers SET transitions = 'closed_to_open=3,'", "has unreadable transition counts \"closed_to_open=3,\""),
        ("UPDATE breakers SET failure_count = -1", "has a negative failure_count"),
        ("UPDATE breakers SET failure_threshold = 0",
         "has an invalid configuration (failure_threshold must be between 1 and 1000000, got 0)"),
        ("UPDATE breakers SET policy = 'random'", "has an unknown policy \"random\""),
        ("UPDATE breakers SET window_kind = 'sliding'", "has an unknown window kind \"sliding\""),
        ("UPDATE breakers SET last_from = 'sideways'", "has an unknown last_from \"sideways\""),
        ("UPDATE breakers SET backoff_max_ms = 60000", "has a backoff_max_ms without backoff_multiplier"),
        ("UPDATE breakers SET backoff_multiplier = 2", "has a NULL backoff_max_ms"),
        ("ALTER TABLE breakers ALTER COLUMN generation DROP NOT NULL; UPDATE breakers SET generation = NULL",
         "has a NULL generation"),
    ])
    func storedValuesThatCouldNotHaveBeenWrittenAreCorrupt(change: String, problem: String) throws {
        let pg = try PostgresCluster.get()
        let (name, url) = try pg.freshDatabase()
        let store = try leaderStore(url)
        defer { store.close() }
        try store.write(WriteBatch(breakers: breakersInEveryState()))
        try pg.sql("\(change) WHERE name = 'payments-api'", database: name)
        #expect(throws: StoreError(code: .corrupt, message: "database \(store.location): breaker \"payments-api\" \(problem)")) {
            try store.loadAll()
        }
    }

    /// A column whose type changed (an int4 where the writer keeps int8) is not read as a guess.
    @Test func aColumnOfAnotherTypeIsCorrupt() throws {
        let pg = try PostgresCluster.get()
        let (name, url) = try pg.freshDatabase()
        let store = try leaderStore(url)
        defer { store.close() }
        try store.write(WriteBatch(breakers: breakersInEveryState()))
        try pg.sql("ALTER TABLE breakers ALTER COLUMN reopen_count TYPE integer", database: name)
        #expect(throws: StoreError(code: .corrupt, message: "database \(store.location): a breaker row has no name")) {
            try store.loadAll()
        }
    }
}
