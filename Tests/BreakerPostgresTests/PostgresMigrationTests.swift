import BreakerCore
import BreakerTestSupport
import BreakerPostgres
import BreakerStore
import Testing

@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct PostgresMigrationTests {
    static let tablesSQL = "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
    static let versionsSQL = "SELECT string_agg(version::text, ',' ORDER BY version) FROM breakerd_schema_version"

    @Test func anEmptyDatabaseGetsEveryStepAndRemembersIt() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        let store = try openStore(url)
        #expect(store.openedAtVersion == 0)
        store.close()
        #expect(try cluster.sql(Self.tablesSQL, database: name) == "breakerd_identity,breakerd_schema_version,breakers,leaders,record_dedupe,transitions")
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1,2,3")

        let again = try openStore(url)
        defer { again.close() }
        #expect(again.openedAtVersion == PostgresSchema.currentVersion)
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1,2,3")
    }

    @Test func aFutureStepIsOneMoreEntryAppliedOnTopOfTheReleasedOnes() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        try openStore(url).close()
        let future = PostgresSchema.migrations + [(version: 4, sql: ["ALTER TABLE breakers ADD COLUMN extra TEXT"])]
        let store = try PostgresStore.connect([PostgresURL.parse(url)], options: .init(cluster: "test"),
                                              migrations: future, logger: quietLogger)
        defer { store.close() }
        #expect(store.openedAtVersion == 3)
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1,2,3,4")
        #expect(try cluster.sql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'",
                                database: name) == "1")
    }

    @Test func aFailingStepLeavesThePreviousVersionWhole() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        try openStore(url).close()
        let broken = PostgresSchema.migrations + [(version: 4, sql: ["CREATE TABLE half_done (x INT)", "NOT SQL AT ALL"])]
        let error = thrown(PostgresStoreError.self) {
            _ = try PostgresStore.connect([PostgresURL.parse(url)], options: .init(cluster: "test"),
                                          migrations: broken, logger: quietLogger)
        }
        #expect(error?.code == .server)
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1,2,3")
        #expect(try cluster.sql(Self.tablesSQL, database: name) == "breakerd_identity,breakerd_schema_version,breakers,leaders,record_dedupe,transitions")
    }

    @Test func aNewerSchemaIsRefusedAndLeftUntouched() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        try openStore(url).close()
        try cluster.sql("INSERT INTO breakerd_schema_version (version) VALUES (7)", database: name)
        let error = thrown(PostgresStoreError.self) { _ = try openStore(url) }
        #expect(error == PostgresStoreError(code: .newerSchema, message:
            "PostgreSQL database postgres://postgres@127.0.0.1:\(cluster.port)/\(name): schema version 7 is newer than "
            + "this breakerd supports (3)"))
        #expect(error?.isRetryable == false)
        #expect(error?.storeError.code == .newerSchema)
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1,2,3,7")
    }

    /// Schema 2 keeps each breaker's last transition (origin and reason) in its row; a database
    /// from before takes it, once, from each breaker's newest history row.
    @Test func migratingToVersion2TakesTheLastTransitionFromTheNewestHistoryRow() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        try PostgresStore.connect([PostgresURL.parse(url)], options: .init(cluster: "test"),
                                  migrations: Array(PostgresSchema.migrations.prefix(1)), logger: quietLogger).close()
        let row = "5, 2, 30000, 1, 30000, '%@', %@, 0, 0, NULL, 5, 0, 5, 0, 'closed_to_open=1', NULL, 1700000000000, NULL, NULL, NULL, "
            + "'consecutive', 'count', 100, 50, 20, NULL, 100, NULL, NULL, NULL, 'normal', 0"
        try cluster.sql("""
            INSERT INTO breakers VALUES ('flappy', \(row.replacingOccurrences(of: "'%@', %@", with: "'half_open', 3"))),
                ('quiet', \(row.replacingOccurrences(of: "'%@', %@", with: "'closed', 1")));
            INSERT INTO transitions (breaker, from_state, to_state, generation, at_ms, reason) VALUES
                ('flappy', 'closed', 'open', 2, 1699999990000, 'failure_threshold'),
                ('other', 'closed', 'forced_open', 2, 1700000000001, 'forced_open'),
                ('flappy', 'open', 'half_open', 3, 1700000000000, 'timeout_elapsed')
            """, database: name)
        let store = try openStore(url)
        defer { store.close() }
        #expect(store.openedAtVersion == 1)
        let last = try store.loadAll().sorted { $0.name < $1.name }.map { [$0.name: $0.breaker.lastTransition] }
        #expect(last == [["flappy": LastTransition(from: .open, reason: .timeoutElapsed)], ["quiet": nil]])
    }

    /// Schema 3 numbers every existing row once (a standby's first copy reads them all), and
    /// gives the database the identity a standby's copy is checked against.
    @Test func migratingToVersion3NumbersEveryExistingBreaker() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        try PostgresStore.connect([PostgresURL.parse(url)], options: .init(cluster: "test"),
                                  migrations: Array(PostgresSchema.migrations.prefix(2)), logger: quietLogger).close()
        let row = "5, 2, 30000, 1, 30000, 'closed', 1, 0, 0, NULL, 5, 0, 5, 0, 'closed_to_open=1', NULL, 1700000000000, NULL, "
            + "NULL, NULL, 'consecutive', 'count', 100, 50, 20, NULL, 100, NULL, NULL, NULL, 'normal', 0, NULL, NULL"
        try cluster.sql("INSERT INTO breakers VALUES ('one', \(row)), ('two', \(row)), ('three', \(row))", database: name)
        let store = try openStore(url)
        defer { store.close() }
        #expect(store.openedAtVersion == 2)
        let count = 3
        #expect(try cluster.sql("SELECT count(DISTINCT change_seq) FROM breakers WHERE change_seq > 0", database: name) == "\(count)")
        #expect(try cluster.sql("SELECT count(*) FROM breakerd_identity WHERE length(id) = 36", database: name) == "1")
        var copy = HotCopy()
        #expect(try store.catchUp(&copy, while: { true }) == (count, true))
        #expect(copy.breakers.count == count)
    }
}
