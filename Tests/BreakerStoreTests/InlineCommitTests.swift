import BreakerCore
import BreakerStorageContract
@testable import BreakerStore
import BreakerSync
import Dispatch
import Foundation
import Testing

/// Leader/follower group commit on a real SQLite file: a caller that may commit inline (an
/// event loop) commits on its own thread when nobody else uses the storage, and is answered by
/// the writer thread otherwise.
@Suite struct InlineCommitTests {
    /// Where and when a completion ran.
    final class Answer: Sendable {
        let state = Mutex<(result: Result<Void, StoreError>, thread: pthread_t)?>(nil)
        let done = DispatchSemaphore(value: 0)
        func record(_ result: Result<Void, StoreError>) {
            state.withLock { $0 = (result, pthread_self()) }
            done.signal()
        }
        var answered: Bool { state.withLock { $0 != nil } }
        var onThisThread: Bool { state.withLock { $0.map { pthread_equal($0.thread, pthread_self()) != 0 } ?? false } }
        var failed: Bool {
            state.withLock { answer in
                if case .failure? = answer?.result { true } else { false }
            }
        }
    }

    static func snapshot(_ name: String, failures: UInt64 = 1) -> WriteBatch {
        var breaker = CircuitBreaker(config: BreakerConfig(failureThreshold: 100), createdAt: at(0))
        for step in 0..<failures { _ = breaker.record(.failure, at: at(Int64(step))) }
        return WriteBatch(breakers: [StoredBreaker(name: name, breaker: breaker)])
    }

    @Test func aCallerAskingWhileNobodyUsesTheStorageCommitsOnItsOwnThreadBeforeItReturns() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let writer = try makeWriter(path)
        let answer = Answer()
        writer.stage(Self.snapshot("a"))
        writer.submit(Self.snapshot("b"), mayCommitInline: true, completion: answer.record)

        #expect(answer.answered && answer.onThisThread && !answer.failed)
        #expect(writer.stats.batchesCommitted == 1 && writer.stats.batchesCommittedInline == 1)
        // Committed: another connection (WAL reader) sees both rows while the writer is open.
        #expect(RawSQLite.column(path, "SELECT name FROM breakers ORDER BY name") == ["a", "b"])
        writer.shutdown()
    }

    @Test func aCallerArrivingWhileTheWriterThreadHoldsTheStorageIsAnsweredAfterItsBatch() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let writer = try makeWriter(path)
        let answer = Answer()
        let release = hold(writer)
        writer.submit(Self.snapshot("a"), mayCommitInline: true, completion: answer.record)
        #expect(!answer.answered)
        release()
        answer.done.wait()
        #expect(!answer.onThisThread && !answer.failed)
        #expect(writer.stats.batchesCommittedInline == 0)
        writer.shutdown()
        #expect(RawSQLite.column(path, "SELECT name FROM breakers") == ["a"])
    }

    /// At `synchronous=FULL` each commit fsyncs: that stays off the event loops.
    @Test func aDatabaseThatSyncsEveryCommitIsNeverCommittedInline() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let database = try BreakerDatabase(path: path, synchronous: .full, logger: quietLogger)
        let writer = StoreWriter(storage: database, elapsed: { .zero }, logger: quietLogger)
        let answer = Answer()
        writer.submit(Self.snapshot("a"), mayCommitInline: true, completion: answer.record)
        answer.done.wait()
        #expect(!answer.onThisThread && !answer.failed)
        #expect(writer.stats.batchesCommittedInline == 0)
        writer.shutdown()
    }

    @Test func aFailedInlineCommitFailsItsCompletionAndTheWriterThreadWritesItLater() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        // Running as root defeats chmod, so the connection itself is made read-only.
        let writer = try makeWriter(path) { try $0.executeForTesting("PRAGMA query_only = ON") }
        let failing = Answer()
        writer.submit(Self.snapshot("a", failures: 2), mayCommitInline: true, completion: failing.record)
        #expect(failing.answered && failing.onThisThread && failing.failed)

        writer.withDatabaseForTesting { try? $0.executeForTesting("PRAGMA query_only = OFF") }
        let later = Answer()
        writer.submit(WriteBatch(), mayCommitInline: true, completion: later.record)
        later.done.wait()
        #expect(!later.failed)
        writer.shutdown()
        #expect(RawSQLite.column(path, "SELECT name FROM breakers") == ["a"])
        #expect(RawSQLite.column(path, "SELECT failed_calls FROM breakers") == ["2"])
    }

    /// A storage that asks for housekeeping after every write and notes where it ran.
    final class MaintenanceProbe: BreakerStorage {
        final class Threads: Sendable {
            let list = Mutex<[pthread_t]>([])
        }
        let maintainedOn: Threads
        private var due = false
        init(_ maintainedOn: Threads) { self.maintainedOn = maintainedOn }
        var location: String { "probe" }
        var commitsInline: Bool { true }
        var needsMaintenance: Bool { due }
        func maintain() {
            guard due else { return }
            due = false
            maintainedOn.list.withLock { $0.append(pthread_self()) }
        }
        func loadAll() throws(StoreError) -> [StoredBreaker] { [] }
        func loadDedupe(notExpiredAt now: Timestamp, limit: Int) throws(StoreError) -> [DedupeRow] { [] }
        func write(_ batch: WriteBatch) throws(StoreError) { due = true }
        func history(breaker: String, limit: Int) throws(StoreError) -> [LoggedTransition] { [] }
        func sizeBytes() -> Int64 { 0 }
        func close() {}
    }

    @Test func housekeepingAfterAnInlineCommitRunsOnTheWriterThreadNotTheCommittingOne() throws {
        let maintainedOn = MaintenanceProbe.Threads()
        let writer = StoreWriter(storage: MaintenanceProbe(maintainedOn), elapsed: { .zero }, logger: quietLogger)
        let answer = Answer()
        writer.submit(Self.snapshot("a"), mayCommitInline: true, completion: answer.record)
        #expect(answer.onThisThread)
        writer.flushSync()
        let threads = maintainedOn.list.withLock { $0 }
        #expect(threads.count == 1)
        #expect(threads.allSatisfy { pthread_equal($0, pthread_self()) == 0 })
        writer.shutdown()
    }

    /// SQLite's automatic checkpoint (an fsync at `synchronous=NORMAL`) would run inside the
    /// commit that passes 1,000 WAL pages, on an event loop committing inline: it is off, and
    /// the database asks for the checkpoint instead.
    @Test func aWALPastOneThousandPagesIsCheckpointedOnlyWhenAsked() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.file("db.sqlite3")
        let database = try openDatabase(path)
        defer { database.close() }
        func mainFileSize() throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        }
        let empty = try mainFileSize()
        var written = 0
        while !database.needsMaintenance {
            let names = (written..<written + 500).map { "wal-\($0)" }
            try database.write(WriteBatch(breakers: names.map { StoredBreaker(name: $0, breaker: CircuitBreaker(createdAt: at(0))) }))
            written += 500
            #expect(written < 100_000, "the WAL never asked for a checkpoint")
            if written >= 100_000 { return }
        }
        #expect(try mainFileSize() == empty, "checkpointed during a commit")
        database.maintain()
        #expect(!database.needsMaintenance)
        #expect(try mainFileSize() > empty)
    }
}
