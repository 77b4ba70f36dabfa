import BreakerCore
import BreakerStorageContract
import BreakerStore
import Dispatch
import Testing

@Suite struct StoreWriterTests {
    @Test func concurrentSubmitsAreGroupCommittedAndAllLand() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let outcomes = Outcomes()
        let writer = try makeWriter(path)
        writer.flushSync()  // the thread is up and idle, so the storm below meets a running writer

        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for step in 0..<125 {
                model.change("breaker-\(thread)-\(step % 10)", on: writer) { breaker in
                    breaker.record(step % 7 == 0 ? .success : .failure, at: at(Int64(step) * 2)).transitions
                }
                writer.whenCommitted(outcomes.record)
            }
        }
        writer.flushSync()

        #expect(outcomes.errors == Array(repeating: nil, count: 1_000))
        let stats = writer.stats
        #expect(stats.batchesCommitted >= 1 && stats.batchesCommitted < 1_000)
        #expect(stats.breakersWritten < 1_000)
        #expect(stats.batchesFailed == 0)
        writer.shutdown()

        let database = try openDatabase(path)
        defer { database.close() }
        #expect(try database.loadAll() == model.stored)
        for stored in model.stored {
            let logged = try database.history(breaker: stored.name, limit: 1_000)
            #expect(UInt64(logged.count) == stored.breaker.metrics.totalTransitions)
        }
    }

    @Test func submitsArrivingDuringACommitFormTheNextBatchWithTheLatestSnapshots() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let writer = try makeWriter(path)
        model.change("first", on: writer)
        let release = hold(writer)
        for index in 0..<100 {
            model.change("later-\(index % 50)", on: writer) { breaker in
                breaker.record(.success, at: at(Int64(index))).transitions
            }
        }
        release()
        writer.flushSync()

        var expected = StoreWriterStats()
        expected.batchesCommitted = 2
        expected.breakersWritten = 51
        expected.lastBatchSize = 50
        #expect(writer.stats == expected)
        writer.shutdown()

        let reopened = try openDatabase(path)
        defer { reopened.close() }
        #expect(try reopened.loadAll() == model.stored)
    }

    @Test func aFailedCommitFailsItsCompletionsAndIsRetriedWithTheNewestSnapshot() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let outcomes = Outcomes()
        // Running as root defeats chmod, so the connection itself is made read-only.
        let writer = try makeWriter(path) { try $0.executeForTesting("PRAGMA query_only = ON") }

        let reset = LoggedTransition(breaker: "a", transition: transition(.open, .closed, generation: 3, at: 2, reason: .reset),
                                     actor: "alice", note: "manual")
        let logged = model.change("a", on: writer, alsoLog: [reset]) { breaker in breaker.record(.failure, count: 5, at: at(1)).transitions }
        #expect(logged.count == 2)
        writer.whenCommitted(outcomes.record)
        writer.flushSync()
        let readOnly = StoreError(code: .io, message: "write to database \(path) failed: begin transaction: attempt to write a readonly database (SQLite extended code 8)")
        #expect(outcomes.errors == [readOnly])
        #expect(writer.stats.batchesCommitted == 0)
        #expect(writer.stats.batchesFailed >= 1)

        writer.withDatabaseForTesting { try? $0.executeForTesting("PRAGMA query_only = OFF") }
        let more = model.change("a", on: writer) { breaker in breaker.record(.success, at: at(3)).transitions }
        model.change("b", on: writer)
        writer.whenCommitted(outcomes.record)
        writer.flushSync()
        #expect(outcomes.errors == [readOnly, nil])
        writer.shutdown()

        let database = try openDatabase(path)
        defer { database.close() }
        #expect(try database.loadAll() == model.stored)
        #expect(try database.history(breaker: "a", limit: 10) == (logged + more).reversed())
    }

    @Test func historyReadsOnTheWriterThreadSeeAcknowledgedRows() async throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let model = Model()
        let writer = try makeWriter(folder.file("db.sqlite3"))
        defer { writer.shutdown() }

        let logged = model.change("a", on: writer) { breaker in breaker.record(.failure, count: 5, at: at(3)).transitions }
        #expect(logged.count == 1)
        await writer.flush()

        #expect(try await writer.history(breaker: "a", limit: 5) == logged)
        #expect(writer.stats.breakersWritten == 1)
        #expect(writer.stats.transitionsWritten == 1)
        #expect(writer.stats.lastBatchSize == 1)
    }

    @Test func shutdownIsIdempotentReleasesTheFileAndRefusesLaterWork() async throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let outcomes = Outcomes()
        let writer = try makeWriter(path)
        model.change("a", on: writer)
        writer.whenCommitted(outcomes.record)
        writer.shutdown()
        writer.shutdown()

        writer.submit(WriteBatch(breakers: model.stored), completion: outcomes.record)
        writer.flushSync()
        await writer.flush()
        let stopped = StoreError(code: .internal, message: "the store writer for \(path) is shut down")
        #expect(outcomes.errors == [nil, stopped])
        await #expect(throws: stopped) { try await writer.history(breaker: "a", limit: 1) }

        let database = try openDatabase(path)
        defer { database.close() }
        #expect(try database.loadAll() == model.stored)
    }

    /// A burst past `trimAfterBatch` breakers in one batch (the writer then returns free heap to
    /// the system) commits like any other.
    @Test func aBatchOfTenThousandNewBreakersLandsWhole() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let writer = try makeWriter(path)
        let outcomes = Outcomes()
        let release = hold(writer)
        for i in 0..<12_000 {
            model.change("burst-\(i)", on: writer)
            if i % 1_000 == 0 { writer.whenCommitted(outcomes.record) }
        }
        release()
        writer.flushSync()
        #expect(outcomes.errors == Array(repeating: nil, count: 12))
        #expect(writer.stats.breakersWritten == 12_000)
        #expect(writer.stats.lastBatchSize == 12_000)
        writer.shutdown()
        let database = try openDatabase(path)
        #expect(try database.loadAll() == model.stored)
    }

    @Test func aPruneRidesWithTheNextBatchAndDeletesOnlyExpiredKeys() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let writer = try makeWriter(path)
        let keys = (0..<4).map {
            DedupeRow(breaker: "a", key: "k\($0)", state: .closed, generation: 1, stale: false, expiresMs: 1_000 + Int64($0))
        }
        for key in keys { model.change("a", on: writer, dedupe: key) }
        writer.flushSync()
        writer.pruneDedupe(before: Timestamp(millisecondsSinceEpoch: 1_001))
        writer.shutdown()

        let database = try openDatabase(path)
        defer { database.close() }
        #expect(try database.loadDedupe(notExpiredAt: Timestamp(millisecondsSinceEpoch: 0)) == keys[2...].reversed())
    }
}
