import BreakerCore
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import Foundation
import Testing

@Suite struct BreakerDatabaseOpeningTests {
    @Test func aSecondOpenIsLockedUntilTheFirstCloses() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let first = try openDatabase(path)

        #expect(throws: StoreError(code: .locked, message: "database \(path) is in use by another breakerd process")) {
            try openDatabase(path)
        }
        first.close()
        let second = try openDatabase(path)
        second.close()
    }

    @Test func aNewFileAndItsFoldersArePrivate() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("state/breakerd/db.sqlite3")
        let database = try openDatabase(path)
        try database.write(WriteBatch(breakers: breakersInEveryState()))

        #expect(permissions(path) == 0o600)
        #expect(permissions(path + "-wal") == 0o600)
        #expect(permissions(folder.file("state")) == 0o700)
        #expect(permissions(folder.file("state/breakerd")) == 0o700)
        database.close()
    }

    @Test func anExistingFileKeepsItsMode() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]))
        try openDatabase(path).close()
        #expect(permissions(path) == 0o640)
    }

    @Test func aNewerSchemaIsRefusedAndTheFileLeftByteIdentical() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        RawSQLite.execute(path, "CREATE TABLE future (x); INSERT INTO future VALUES (1); PRAGMA user_version = 99;")
        let before = try #require(contents(path))

        #expect(throws: StoreError(code: .newerSchema, message: "database schema version 99 is newer than this breakerd supports (\(Schema.currentVersion))")) {
            try openDatabase(path)
        }
        #expect(contents(path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["db.sqlite3"])
    }

    @Test func aNewerSchemaWithAnUncheckpointedWALIsLeftByteIdentical() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let original = folder.file("newer.sqlite3")
        let path = folder.file("db.sqlite3")
        // What a newer breakerd killed with -9 leaves: committed rows still only in the WAL.
        // Copying the files while the writer is still open captures exactly that.
        let writer = RawSQLite.Connection(original)
        writer.execute("PRAGMA journal_mode = WAL; CREATE TABLE future (x); INSERT INTO future VALUES (1); PRAGMA user_version = 99;")
        try FileManager.default.copyItem(atPath: original, toPath: path)
        try FileManager.default.copyItem(atPath: original + "-wal", toPath: path + "-wal")
        writer.close()
        let main = try #require(contents(path))
        let wal = try #require(contents(path + "-wal"))
        #expect(wal.count > 0)

        #expect(throws: StoreError(code: .newerSchema, message: "database schema version 99 is newer than this breakerd supports (\(Schema.currentVersion))")) {
            try openDatabase(path)
        }
        #expect(contents(path) == main)
        #expect(contents(path + "-wal") == wal)
    }

    @Test(arguments: ["random", "text"])
    func aFileThatIsNotADatabaseIsCorruptAndLeftUntouched(kind: String) throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        var generator = SplitMix64(seed: 42)
        let garbage = kind == "random"
            ? Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
            : Data("breakers:\n  payments: open\n".utf8)
        try garbage.write(to: URL(fileURLWithPath: path))

        #expect(throws: StoreError(code: .corrupt, message: "database \(path) is not a SQLite database or is corrupt: read the schema version: file is not a database (SQLite extended code 26)")) {
            try openDatabase(path)
        }
        #expect(contents(path) == garbage)
    }

    @Test func aSQLiteFileOfAnotherProgramIsRefusedAndLeftUntouched() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        RawSQLite.execute(path, "CREATE TABLE notes (body TEXT)")
        let before = try #require(contents(path))

        #expect(throws: StoreError(code: .corrupt, message: "database \(path) is a SQLite database but not a breakerd one (user_version 0, 1 schema objects); refusing to touch it")) {
            try openDatabase(path)
        }
        #expect(contents(path) == before)
    }

    @Test func anEmptyVersionZeroDatabaseIsMigratedToTheCurrentSchema() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        // What `sqlite3 db.sqlite3 'VACUUM'` leaves: a valid header, no tables, user_version 0.
        RawSQLite.execute(path, "PRAGMA page_size = 8192; VACUUM;")
        #expect(RawSQLite.column(path, "PRAGMA user_version") == ["0"])

        let database = try openDatabase(path)
        #expect(database.openedAtVersion == 0)
        try database.write(WriteBatch(breakers: breakersInEveryState()))
        database.close()

        #expect(RawSQLite.column(path, "PRAGMA user_version") == ["\(Schema.currentVersion)"])
        #expect(RawSQLite.column(path, "PRAGMA journal_mode") == ["wal"])
        #expect(RawSQLite.column(path, "SELECT name FROM sqlite_schema ORDER BY name")
                == ["breakers", "record_dedupe", "record_dedupe_by_expiry", "transitions", "transitions_by_breaker"])
        let reopened = try openDatabase(path)
        defer { reopened.close() }
        #expect(reopened.openedAtVersion == Schema.currentVersion)
        #expect(try reopened.loadAll() == breakersInEveryState())
    }

    @Test func aFutureMigrationIsOneMoreListEntry() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let v1 = try openDatabase(path)
        try v1.write(WriteBatch(breakers: breakersInEveryState()))
        v1.close()

        let current = Schema.currentVersion, next = current + 1
        let nextMigrations = Schema.migrations + [(version: next, sql: ["ALTER TABLE breakers ADD COLUMN labels TEXT"])]
        let upgraded = try BreakerDatabase(path: path, synchronous: .full, transitionLogLimit: 1000,
                                           migrations: nextMigrations, logger: quietLogger)
        #expect(upgraded.openedAtVersion == current)
        #expect(try upgraded.loadAll() == breakersInEveryState())
        upgraded.close()
        #expect(RawSQLite.column(path, "PRAGMA user_version") == ["\(next)"])
        #expect(RawSQLite.column(path, "SELECT count(labels) FROM breakers") == ["0"])

        #expect(throws: StoreError(code: .newerSchema, message: "database schema version \(next) is newer than this breakerd supports (\(current))")) {
            try openDatabase(path)
        }
    }

    /// A file written by the first release (schema 1, before force-open existed) opens, gains
    /// the new columns, and keeps every breaker as it was.
    @Test func aVersion1DatabaseIsMigratedKeepingItsBreakers() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let v1 = Schema.migrations[0].sql.joined(separator: ";\n")
        RawSQLite.execute(path, v1 + """
            ;
            INSERT INTO breakers VALUES ('orders-db', 5, 2, 30000, 1, 30000, 'open', 2, 5, 0, 1700000030000,
                5, 0, 5, 3, 'closed_to_open=1', 1700000000000, 1700000000000);
            INSERT INTO transitions (breaker, from_state, to_state, generation, at_ms, reason)
                VALUES ('orders-db', 'closed', 'open', 2, 1700000000000, 'failure_threshold');
            PRAGMA user_version = 1;
            """)
        let database = try openDatabase(path)
        defer { database.close() }
        #expect(database.openedAtVersion == 1)
        let at = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)
        let expected = CircuitBreaker(
            config: BreakerConfig(timeoutMs: 30_000), state: .open, generation: 2, failureCount: 5, successCount: 0,
            openUntil: Timestamp(millisecondsSinceEpoch: 1_700_000_030_000),
            metrics: BreakerMetrics(totalCalls: 5, successfulCalls: 0, failedCalls: 5, rejectedCalls: 3,
                                    transitions: [TransitionKind(from: .closed, to: .open): 1],
                                    lastFailureTime: at, lastStateChange: at),
            lastTransition: LastTransition(from: .closed, reason: .failureThreshold))
        #expect(try database.loadAll() == [StoredBreaker(name: "orders-db", breaker: expected)])
        #expect(try database.history(breaker: "orders-db", limit: 10).map(\.transition)
                == [Transition(from: .closed, to: .open, generation: 2, at: at, reason: .failureThreshold)])
        #expect(RawSQLite.column(path, "PRAGMA user_version") == ["\(Schema.currentVersion)"])
    }

    /// Schema 5 keeps each breaker's last transition (origin and reason) in its row; a database
    /// from before takes it, once, from each breaker's newest history row.
    @Test func migratingToVersion5TakesTheLastTransitionFromTheNewestHistoryRow() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let v4 = Schema.migrations.prefix(4).flatMap(\.sql).joined(separator: ";\n")
        RawSQLite.execute(path, v4 + ";\nPRAGMA user_version = 4;")
        let row = "5, 2, 30000, 1, 30000, '%@', %@, 0, 0, NULL, 5, 0, 5, 0, 'closed_to_open=1', NULL, 1700000000000"
        RawSQLite.execute(path, """
            INSERT INTO breakers (name, failure_threshold, success_threshold, timeout_ms, half_open_max_calls,
                half_open_permit_timeout_ms, state, generation, failure_count, success_count, open_until_ms, total_calls,
                successful_calls, failed_calls, rejected_calls, transitions, last_failure_ms, last_state_change_ms)
            VALUES ('flappy', \(row.replacingOccurrences(of: "'%@', %@", with: "'half_open', 3"))),
                   ('quiet', \(row.replacingOccurrences(of: "'%@', %@", with: "'closed', 1")));
            INSERT INTO transitions (breaker, from_state, to_state, generation, at_ms, reason) VALUES
                ('flappy', 'closed', 'open', 2, 1699999990000, 'failure_threshold'),
                ('other', 'closed', 'forced_open', 2, 1700000000001, 'forced_open'),
                ('flappy', 'open', 'half_open', 3, 1700000000000, 'timeout_elapsed');
            """)
        let database = try openDatabase(path)
        defer { database.close() }
        #expect(database.openedAtVersion == 4)
        let last = try database.loadAll().map { [$0.name: $0.breaker.lastTransition] }
        #expect(last == [["flappy": LastTransition(from: .open, reason: .timeoutElapsed)], ["quiet": nil]])
    }
}
