@testable import BreakerServer
import BreakerCore
import BreakerStore
import BreakerSync
import BreakerWire
import Dispatch
import Logging
import Testing

/// A `BreakerStorage` that keeps every batch in memory and can hold a write, so a test sees
/// exactly what the registry handed the writer and when.
final class RecordingStorage: BreakerStorage {
    /// Shared with the test: the storage itself moves onto the writer thread.
    final class Tape: Sendable {
        let batches = Mutex<[WriteBatch]>([])
        /// While set, the next write signals `entered` and waits for `release`.
        let holdNext = Mutex(false)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
    }

    let tape: Tape
    init(_ tape: Tape) { self.tape = tape }

    var location: String { "memory" }
    func loadAll() throws(StoreError) -> [StoredBreaker] { [] }
    func loadDedupe(notExpiredAt now: Timestamp, limit: Int) throws(StoreError) -> [DedupeRow] { [] }
    func write(_ batch: WriteBatch) throws(StoreError) {
        if tape.holdNext.withLock({ hold in defer { hold = false }; return hold }) {
            tape.entered.signal()
            tape.release.wait()
        }
        tape.batches.withLock { $0.append(batch) }
    }
    func history(breaker: String, limit: Int) throws(StoreError) -> [LoggedTransition] { [] }
    func sizeBytes() -> Int64 { 0 }
    func close() {}
}

@Suite struct CommitHandOffTests {
    static func committed(_ registry: BreakerRegistry, _ name: String) {
        let done = DispatchSemaphore(value: 0)
        registry.whenCommitted(name) { _ in done.signal() }
        done.wait()
    }

    /// Before: the record's transitions went to the writer with the breaker's name, and its
    /// reply's `whenCommitted` submitted the name again, so a batch taken in between was
    /// followed by a second write of the same breaker. Now the trip waits in the journal for
    /// the commit its reply asks for (which an event loop may then make inline).
    @Test func aRecordThatTripsABreakerIsSubmittedOnceWithTheCommitItsReplyAsksFor() throws {
        let tape = RecordingStorage.Tape()
        var settings = BreakerRegistry.Settings()
        settings.defaultConfig = BreakerConfig(failureThreshold: 1)
        let clock = ManualClock()
        let registry = try BreakerRegistry(storage: RecordingStorage(tape), settings: settings, clock: clock,
                                           logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        defer { registry.shutdown() }
        _ = registry.handle(.record(RecordCommand(breaker: "x", outcome: .success)), caller: Caller(actor: "test", reporter: nil))
        Self.committed(registry, "x")
        let before = tape.batches.withLock { $0.count }

        let action = registry.handle(.record(RecordCommand(breaker: "x", outcome: .failure)), caller: Caller(actor: "test", reporter: nil))  // trips it
        guard case .replyAfterCommit(_, let scope) = action else { Issue.record("not acknowledged after a commit: \(action)"); return }
        registry.writer.flushSync()
        #expect(tape.batches.withLock { $0.count } == before, "handed to the writer before its reply asked")
        let acknowledged = DispatchSemaphore(value: 0)
        registry.whenCommitted(scope) { _ in acknowledged.signal() }
        acknowledged.wait()

        let after = tape.batches.withLock { Array($0.dropFirst(before)) }
        #expect(after.map { $0.breakers.map(\.name) } == [["x"]])
        #expect(after.map { $0.transitions.map(\.transition.to) } == [[.open]])
        #expect(after.first?.breakers.first?.breaker.state == .open)
    }

    @Test func aDedupeKeyIsCommittedWithTheCountItGuards() throws {
        let tape = RecordingStorage.Tape()
        let registry = try BreakerRegistry(storage: RecordingStorage(tape), settings: .init(), clock: ManualClock(),
                                           logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        defer { registry.shutdown() }
        _ = registry.handle(.record(RecordCommand(breaker: "d", outcome: .success, dedupe: "k1")), caller: Caller(actor: "test", reporter: nil))
        Self.committed(registry, "d")
        let batches = tape.batches.withLock { $0 }
        let withKey = batches.filter { !$0.dedupes.isEmpty }
        #expect(withKey.count == 1)
        #expect(withKey.first?.dedupes.map(\.key) == ["k1"])
        #expect(withKey.first?.breakers.map { $0.breaker.metrics.successfulCalls } == [1])
    }

    @Test func aRejectionWaitingLazilyDoesNotOvertakeAnEarlierCount() throws {
        let tape = RecordingStorage.Tape()
        var settings = BreakerRegistry.Settings()
        settings.defaultConfig = BreakerConfig(failureThreshold: 1, timeoutMs: 60_000)
        let registry = try BreakerRegistry(storage: RecordingStorage(tape), settings: settings, clock: ManualClock(),
                                           logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        defer { registry.shutdown() }
        _ = registry.handle(.record(RecordCommand(breaker: "r", outcome: .failure)), caller: Caller(actor: "test", reporter: nil))  // opens it
        Self.committed(registry, "r")
        // A stale outcome is counted (journaled), then a rejection is counted (lazily).
        _ = registry.handle(.record(RecordCommand(breaker: "r", outcome: .success, generation: 1)), caller: Caller(actor: "test", reporter: nil))
        _ = registry.handle(.shouldAttempt(breaker: "r"), caller: Caller(actor: "test", reporter: nil))
        Self.committed(registry, "r")
        let last = tape.batches.withLock { $0.last { !$0.breakers.isEmpty } }
        let metrics = last?.breakers.last?.breaker.metrics
        #expect(metrics?.rejectedCalls == 1)
        #expect(metrics?.totalCalls == 2)
    }

    /// The store has no clock: every minute of the registry's clock, the writer is told to
    /// delete the keys expired by then, and the next batch does it.
    @Test func expiredDedupeKeysArePrunedAtTheRegistrysTime() throws {
        let tape = RecordingStorage.Tape()
        let clock = ManualClock()
        let start = clock.now()
        let registry = try BreakerRegistry(storage: RecordingStorage(tape), settings: .init(), clock: clock,
                                           logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        defer { registry.shutdown() }
        clock.advance(by: .seconds(59))
        Self.committed(registry, "none")
        #expect(tape.batches.withLock { $0.compactMap(\.pruneDedupeBefore) } == [])
        clock.advance(by: .seconds(1))
        Self.committed(registry, "none")
        #expect(tape.batches.withLock { $0.compactMap(\.pruneDedupeBefore) } == [start.adding(milliseconds: 60_000)])
    }
}
