import BreakerCore
import BreakerStore
import Dispatch
import Foundation
import BreakerSync
import Testing

/// Stands in for the server's shards: breakers change in memory first, then get submitted.
final class Model: Sendable {
    let breakers = Mutex<[String: CircuitBreaker]>([:])

    func change(_ name: String, _ body: (inout CircuitBreaker) -> [Transition] = { _ in [] }) -> [LoggedTransition] {
        breakers.withLock { all in
            var breaker = all[name] ?? CircuitBreaker(config: BreakerConfig(timeoutMs: 1), createdAt: at(0))
            let transitions = body(&breaker)
            all[name] = breaker
            return transitions.map { LoggedTransition(breaker: name, transition: $0) }
        }
    }

    func snapshot(_ name: String) -> CircuitBreaker? { breakers.withLock { $0[name] } }

    var stored: [StoredBreaker] {
        breakers.withLock { $0.map { StoredBreaker(name: $0.key, breaker: $0.value) } }.sorted { $0.name < $1.name }
    }
}

/// Collects completion results from any thread.
final class Outcomes: Sendable {
    let results = Mutex<[Result<Void, StoreError>]>([])
    func record(_ result: Result<Void, StoreError>) { results.withLock { $0.append(result) } }
    var all: [Result<Void, StoreError>] { results.withLock { $0 } }
    /// nil for each success: `Result<Void, _>` is not `Equatable`.
    var errors: [StoreError?] {
        all.map { result in
            if case .failure(let error) = result { error } else { nil }
        }
    }
}

func makeWriter(_ path: String, _ model: Model, prepare: (BreakerDatabase) throws -> Void = { _ in }) throws -> StoreWriter {
    let database = try openDatabase(path)
    try prepare(database)
    return StoreWriter(database: database, snapshot: { model.snapshot($0) }, logger: quietLogger)
}

@Suite struct StoreWriterTests {
    @Test func concurrentSubmitsAreGroupCommittedAndAllLand() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let outcomes = Outcomes()
        let writer = try makeWriter(path, model)
        writer.flushSync()  // the thread is up and idle, so the storm below meets a running writer

        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for step in 0..<125 {
                let name = "breaker-\(thread)-\(step % 10)"
                let transitions = model.change(name) { breaker in
                    let now = at(Int64(step) * 2)
                    return breaker.record(step % 7 == 0 ? .success : .failure, at: now).transitions
                }
                writer.submit(name, transitions: transitions, completion: outcomes.record)
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

    @Test func submitsArrivingDuringACommitFormTheNextBatch() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let database = try openDatabase(path)
        // Holds the first batch inside the writer, as a slow fsync would.
        let writer = StoreWriter(database: database, snapshot: { name in
            if name == "first" {
                entered.signal()
                release.wait()
            }
            return model.snapshot(name)
        }, logger: quietLogger)

        _ = model.change("first")
        writer.submit("first")
        #expect(entered.wait(timeout: .now() + 10) == .success)
        for index in 0..<100 {
            _ = model.change("later-\(index % 50)")
            writer.submit("later-\(index % 50)")
        }
        release.signal()
        writer.flushSync()

        var expected = StoreWriterStats()
        expected.batchesCommitted = 2
        expected.breakersWritten = 51
        expected.lastBatchSize = 50
        var stats = writer.stats
        stats.lastCommitNanoseconds = 0
        stats.totalCommitNanoseconds = 0
        #expect(stats == expected)
        writer.shutdown()

        let reopened = try openDatabase(path)
        defer { reopened.close() }
        #expect(try reopened.loadAll() == model.stored)
    }

    @Test func aFailedCommitFailsItsCompletionsAndIsRetriedUntilTheDiskAcceptsIt() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let outcomes = Outcomes()
        // Running as root defeats chmod, so the connection itself is made read-only.
        let writer = try makeWriter(path, model) { try $0.executeForTesting("PRAGMA query_only = ON") }

        let logged = model.change("a") { breaker in breaker.record(.failure, count: 5, at: at(1)).transitions }
            + [LoggedTransition(breaker: "a", transition: transition(.open, .closed, generation: 3, at: 2, reason: .reset),
                                actor: "alice", note: "manual")]
        #expect(logged.count == 2)
        writer.submit("a", transitions: logged, completion: outcomes.record)
        writer.flushSync()
        let readOnly = StoreError(code: .io, message: "write to database \(path) failed: begin transaction: attempt to write a readonly database (SQLite extended code 8)")
        #expect(outcomes.errors == [readOnly])
        #expect(writer.stats.batchesCommitted == 0)
        #expect(writer.stats.batchesFailed >= 1)

        writer.withDatabaseForTesting { try? $0.executeForTesting("PRAGMA query_only = OFF") }
        _ = model.change("b")
        writer.submit("b", completion: outcomes.record)
        writer.flushSync()
        #expect(outcomes.errors == [readOnly, nil])
        writer.shutdown()

        let database = try openDatabase(path)
        defer { database.close() }
        #expect(try database.loadAll() == model.stored)
        #expect(try database.history(breaker: "a", limit: 10) == logged.reversed())
    }

    @Test func historyReadsOnTheWriterThreadSeeAcknowledgedRows() async throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let model = Model()
        let writer = try makeWriter(folder.file("db.sqlite3"), model)
        defer { writer.shutdown() }

        let logged = model.change("a") { breaker in breaker.record(.failure, count: 5, at: at(3)).transitions }
        #expect(logged.count == 1)
        writer.submit("a", transitions: logged)
        await writer.flush()

        #expect(try await writer.history(breaker: "a", limit: 5) == logged)
        #expect(writer.stats.breakersWritten == 1)
        #expect(writer.stats.transitionsWritten == 1)
        #expect(writer.stats.lastBatchSize == 1)
    }

    @Test func aBreakerWithoutSnapshotStillGetsItsTransitionsLogged() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let writer = try makeWriter(path, Model())
        let entry = LoggedTransition(breaker: "gone", transition: transition(.open, .closed, generation: 3, at: 9, reason: .reset))
        writer.submit("gone", transitions: [entry])
        writer.shutdown()

        let database = try openDatabase(path)
        defer { database.close() }
        #expect(try database.loadAll() == [])
        #expect(try database.history(breaker: "gone", limit: 10) == [entry])
    }

    @Test func shutdownIsIdempotentReleasesTheFileAndRefusesLaterWork() async throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let outcomes = Outcomes()
        let writer = try makeWriter(path, model)
        _ = model.change("a")
        writer.submit("a", completion: outcomes.record)
        writer.shutdown()
        writer.shutdown()

        writer.submit("a", completion: outcomes.record)
        writer.flushSync()
        await writer.flush()
        let stopped = StoreError(code: .internal, message: "the store writer for \(path) is shut down")
        #expect(outcomes.errors == [nil, stopped])
        await #expect(throws: stopped) { try await writer.history(breaker: "a", limit: 1) }

        let database = try openDatabase(path)
        defer { database.close() }
        #expect(try database.loadAll() == model.stored)
    }

    /// A burst past `trimAfterBatch` names in one batch (the writer then returns free heap to
    /// the system) commits like any other.
    @Test func aBatchOfTenThousandNewBreakersLandsWhole() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let model = Model()
        let writer = try makeWriter(path, model)
        let outcomes = Outcomes()
        // Hold the writer thread so that every submit below lands in one batch.
        let (started, gate) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        writer.measureFileSize { _ in
            started.signal()
            gate.wait()
        }
        started.wait()
        for i in 0..<12_000 {
            _ = model.change("burst-\(i)")
            if i % 1_000 == 0 {
                writer.submit("burst-\(i)") { @Sendable result in outcomes.record(result) }
            } else {
                writer.submit("burst-\(i)")
            }
        }
        gate.signal()
        writer.flushSync()
        #expect(outcomes.errors == Array(repeating: nil, count: 12))
        #expect(writer.stats.breakersWritten == 12_000)
        #expect(writer.stats.lastBatchSize == 12_000)
        writer.shutdown()
        let database = try openDatabase(path)
        #expect(try database.loadAll() == model.stored)
    }
}
