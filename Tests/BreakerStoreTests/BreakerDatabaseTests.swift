import BreakerCore
import BreakerStorageContract
import BreakerStore
import Foundation
import Testing

/// SQLite-only details; what every store promises is in `BreakerStorageContractTests`.
@Suite struct BreakerDatabaseTests {
    @Test func breakersInEveryStateLoadBackUnchangedAfterReopen() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("breakerd.sqlite3")
        let written = breakersInEveryState()

        let database = try openDatabase(path)
        try database.write(WriteBatch(breakers: written))
        database.close()

        let reopened = try openDatabase(path)
        defer { reopened.close() }
        #expect(reopened.openedAtVersion == Schema.currentVersion)
        #expect(try reopened.loadAll() == written)
    }

    @Test func transitionLogKeepsOrderAndOnlyTheNewestRowsPerBreaker() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        func entries(_ breaker: String, _ generations: ClosedRange<UInt64>, actor: String? = nil) -> [LoggedTransition] {
            generations.map { generation in
                LoggedTransition(
                    breaker: breaker,
                    transition: transition(.closed, .open, generation: generation, at: Int64(generation) * 10,
                                           reason: .failureThreshold),
                    actor: actor, note: actor.map { "note \($0) \(generation)" })
            }
        }

        let database = try openDatabase(path, transitionLogLimit: 5)
        try database.write(WriteBatch(transitions: entries("a", 1...3) + entries("b", 1...2, actor: "ops")))
        try database.write(WriteBatch(transitions: entries("a", 4...7)))

        #expect(try database.history(breaker: "a", limit: 10) == entries("a", 3...7).reversed())
        #expect(try database.history(breaker: "a", limit: 2) == entries("a", 6...7).reversed())
        #expect(try database.history(breaker: "b", limit: 10) == entries("b", 1...2, actor: "ops").reversed())
        #expect(try database.history(breaker: "unknown", limit: 10) == [])
        #expect(try database.history(breaker: "a", limit: 0) == [])
        database.close()

        // A new connection learns the row count from the table before pruning.
        let reopened = try openDatabase(path, transitionLogLimit: 5)
        try reopened.write(WriteBatch(transitions: entries("a", 8...8)))
        #expect(try reopened.history(breaker: "a", limit: 10) == entries("a", 4...8).reversed())
        reopened.close()
        #expect(RawSQLite.column(path, "SELECT breaker || ':' || count(*) FROM transitions GROUP BY breaker ORDER BY breaker")
                == ["a:5", "b:2"])
    }

    @Test func aBatchThatHitsAFullDiskIsRolledBackWhole() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let database = try openDatabase(path)
        defer { database.close() }
        let before = breakersInEveryState()
        try database.write(WriteBatch(breakers: before))
        // SQLite's page limit fails the allocation exactly like a full disk does.
        try database.executeForTesting("PRAGMA max_page_count = 1")
        let big = LoggedTransition(
            breaker: "new", transition: transition(.closed, .open, generation: 2, at: 5, reason: .failureThreshold),
            note: String(repeating: "x", count: 64 * 1024))
        let batch = WriteBatch(breakers: [StoredBreaker(name: "new", breaker: CircuitBreaker(createdAt: at(0)))],
                               transitions: [big])

        #expect(throws: StoreError(code: .full, message: "write to database \(path) failed: append transition: database or disk is full (SQLite extended code 13)")) {
            try database.write(batch)
        }
        #expect(try database.loadAll() == before)
        #expect(try database.history(breaker: "new", limit: 10) == [])

        try database.executeForTesting("PRAGMA max_page_count = 1073741823")
        try database.write(batch)
        #expect(try database.history(breaker: "new", limit: 10) == [big])
    }

    @Test func aReadOnlyConnectionReportsAnIOError() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let database = try openDatabase(path)
        defer { database.close() }
        try database.executeForTesting("PRAGMA query_only = ON")

        #expect(throws: StoreError(code: .io, message: "write to database \(path) failed: begin transaction: attempt to write a readonly database (SQLite extended code 8)")) {
            try database.write(WriteBatch(breakers: breakersInEveryState()))
        }
    }

    @Test(arguments: [
        ("state", "'sideways'", "has an unknown state \"sideways\""),
        ("transitions", "'closed_to_open=3,closed_to_nowhere=1'", "has unreadable transition counts \"closed_to_open=3,closed_to_nowhere=1\""),
        ("transitions", "'closed_to_open=3,'", "has unreadable transition counts \"closed_to_open=3,\""),
        ("transitions", "'closed_to_open=3,closed_to_open=4'", "has unreadable transition counts \"closed_to_open=3,closed_to_open=4\""),
        ("transitions", "'closed_to_open=18446744073709551616'", "has unreadable transition counts \"closed_to_open=18446744073709551616\""),
        ("failure_count", "-1", "has a negative failure_count"),
        ("generation", "'many'", "has a non-integer generation"),
        // SQLite types values, not columns: a NULL where a value belongs is one more wrong type
        // (PostgreSQL calls it missing: PostgresBreakerRowTests).
        ("backoff_multiplier", "NULL, backoff_max_ms = 60000", "has a non-numeric backoff_multiplier"),
        ("backoff_multiplier", "'x', backoff_max_ms = 60000", "has a non-numeric backoff_multiplier"),
        ("backoff_max_ms", "NULL, backoff_multiplier = 2", "has a non-integer backoff_max_ms"),
        ("failure_threshold", "0", "has an invalid configuration (failure_threshold must be between 1 and 1000000, got 0)"),
    ])
    func storedValuesThatCouldNotHaveBeenWrittenAreCorrupt(column: String, value: String, problem: String) throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let database = try openDatabase(path)
        try database.write(WriteBatch(breakers: breakersInEveryState()))
        database.close()
        RawSQLite.execute(path, "UPDATE breakers SET \(column) = \(value) WHERE name = 'payments-api'")

        let reopened = try openDatabase(path)
        defer { reopened.close() }
        #expect(throws: StoreError(code: .corrupt, message: "database \(path): breaker \"payments-api\" \(problem)")) {
            try reopened.loadAll()
        }
    }

    @Test func fileSizeCountsTheMainFileAndTheWAL() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let database = try openDatabase(folder.file("db.sqlite3"))
        defer { database.close() }
        let empty = database.sizeBytes()
        try database.write(WriteBatch(breakers: (0..<500).map {
            StoredBreaker(name: "breaker-\($0)", breaker: CircuitBreaker(createdAt: at(0)))
        }))
        #expect(empty > 0)
        #expect(database.sizeBytes() > empty + 500 * 50)
    }

    @Test func aClosedDatabaseRefusesWorkAndClosesOnlyOnce() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let database = try openDatabase(path)
        database.close()
        database.close()
        let closed = StoreError(code: .internal, message: "database \(path) is closed")
        #expect(throws: closed) { try database.write(WriteBatch(breakers: breakersInEveryState())) }
        #expect(throws: closed) { try database.loadAll() }
        #expect(throws: closed) { try database.history(breaker: "a", limit: 1) }
    }
}
