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
        #expect(try cluster.sql(Self.tablesSQL, database: name) == "breakerd_schema_version,breakers,leaders,record_dedupe,transitions")
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1")

        let again = try openStore(url)
        defer { again.close() }
        #expect(again.openedAtVersion == PostgresSchema.currentVersion)
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1")
    }

    @Test func aFutureStepIsOneMoreEntryAppliedOnTopOfTheReleasedOnes() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        try openStore(url).close()
        let future = PostgresSchema.migrations + [(version: 2, sql: ["ALTER TABLE breakers ADD COLUMN extra TEXT"])]
        let store = try PostgresStore.connect([PostgresURL.parse(url)], options: .init(cluster: "test"),
                                              migrations: future, logger: quietLogger)
        defer { store.close() }
        #expect(store.openedAtVersion == 1)
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1,2")
        #expect(try cluster.sql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'",
                                database: name) == "1")
    }

    @Test func aFailingStepLeavesThePreviousVersionWhole() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        try openStore(url).close()
        let broken = PostgresSchema.migrations + [(version: 2, sql: ["CREATE TABLE half_done (x INT)", "NOT SQL AT ALL"])]
        let error = thrown(PostgresStoreError.self) {
            _ = try PostgresStore.connect([PostgresURL.parse(url)], options: .init(cluster: "test"),
                                          migrations: broken, logger: quietLogger)
        }
        #expect(error?.code == .server)
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1")
        #expect(try cluster.sql(Self.tablesSQL, database: name) == "breakerd_schema_version,breakers,leaders,record_dedupe,transitions")
    }

    @Test func aNewerSchemaIsRefusedAndLeftUntouched() throws {
        let cluster = try PostgresCluster.get()
        let (name, url) = try cluster.freshDatabase()
        try openStore(url).close()
        try cluster.sql("INSERT INTO breakerd_schema_version (version) VALUES (7)", database: name)
        let error = thrown(PostgresStoreError.self) { _ = try openStore(url) }
        #expect(error == PostgresStoreError(code: .newerSchema, message:
            "PostgreSQL database postgres://postgres@127.0.0.1:\(cluster.port)/\(name): schema version 7 is newer than "
            + "this breakerd supports (1)"))
        #expect(error?.isRetryable == false)
        #expect(error?.storeError.code == .newerSchema)
        #expect(try cluster.sql(Self.versionsSQL, database: name) == "1,7")
    }
}
