@testable import BreakerStore
import BreakerCore
import BreakerStorageContract
import Testing

/// The rules of who holds the storage, without threads: each step is what one thread would do
/// under the writer's lock, and the test plays every thread in turn.
@Suite struct StorageOwnershipTests {
    static func batch(_ names: String...) -> WriteBatch {
        WriteBatch(breakers: names.map { StoredBreaker(name: $0, breaker: CircuitBreaker(createdAt: at(0))) })
    }

    static let ignore: StoreWriter.Completion = { _ in }

    static func taken(_ action: StorageOwnership.SubmitAction) -> PendingWrites? {
        if case .commitHere(let taken) = action { taken } else { nil }
    }

    static func run(_ action: StorageOwnership.WriterAction) -> PendingWrites? {
        if case .run(let taken, _) = action { taken } else { nil }
    }

    static func isWake(_ action: StorageOwnership.SubmitAction) -> Bool {
        if case .wakeWriter = action { true } else { false }
    }

    static func isNone(_ action: StorageOwnership.SubmitAction) -> Bool {
        if case .none = action { true } else { false }
    }

    @Test func aLoopAskingWhileNobodyCommitsCommitsEverythingPendingItself() {
        var ownership = StorageOwnership(commitsInline: true)
        _ = ownership.submit(Self.batch("lazy"), .lazily)
        _ = ownership.submit(Self.batch("staged"), .quietly)
        let taken = Self.taken(ownership.submit(Self.batch("mine"), completion: Self.ignore, mayLead: true))
        #expect(taken?.writes.breakers.map(\.name) == ["lazy", "staged", "mine"])
        #expect(taken?.completions.count == 1)
        #expect(ownership.holder == .loop)
        #expect(ownership.pending.writes.isEmpty && ownership.pending.completions.isEmpty)
        #expect(Self.isNone(ownership.inlineFinished()))
        #expect(ownership.holder == .nobody)
    }

    @Test func whileALoopCommitsOthersJoinTheNextBatchWhichTheWriterThreadTakesAfterIt() {
        var ownership = StorageOwnership(commitsInline: true)
        #expect(Self.taken(ownership.submit(Self.batch("a"), completion: Self.ignore, mayLead: true)) != nil)
        // Another loop, the HTTP side: neither may touch the storage now, nor wake the writer yet.
        #expect(Self.isNone(ownership.submit(Self.batch("b"), completion: Self.ignore, mayLead: true)))
        #expect(Self.isNone(ownership.submit(Self.batch("c"), completion: Self.ignore)))
        #expect(ownership.holder == .loop)
        #expect(Self.isWake(ownership.inlineFinished()))
        #expect(ownership.holder == .writerThread)
        // Reserved for the writer: a loop arriving before it wakes joins its batch.
        #expect(Self.taken(ownership.submit(Self.batch("d"), completion: Self.ignore, mayLead: true)) == nil)
        let next = Self.run(ownership.writerWoke())
        #expect(next?.writes.breakers.map(\.name) == ["b", "c", "d"])
        #expect(next?.completions.count == 3)
        #expect(Self.isNone(ownership.writerFinished()))
        #expect(ownership.holder == .nobody)
        #expect(Self.taken(ownership.submit(Self.batch("e"), completion: Self.ignore, mayLead: true)) != nil)
    }

    @Test func aStorageThatMustNotCommitOnAnEventLoopIsAlwaysCommittedByTheWriterThread() {
        var ownership = StorageOwnership(commitsInline: false)
        #expect(Self.isWake(ownership.submit(Self.batch("a"), completion: Self.ignore, mayLead: true)))
        #expect(ownership.holder == .writerThread)
        #expect(Self.run(ownership.writerWoke())?.writes.breakers.map(\.name) == ["a"])
    }

    @Test func jobsReserveTheStorageSoLoopsCannotKeepItFromTheWriterThread() {
        var ownership = StorageOwnership(commitsInline: true)
        #expect(Self.isWake(ownership.enqueue { _ in }))
        #expect(Self.taken(ownership.submit(Self.batch("a"), completion: Self.ignore, mayLead: true)) == nil)
        let next = Self.run(ownership.writerWoke())
        #expect(next?.jobs.count == 1)
        #expect(next?.writes.breakers.map(\.name) == ["a"])
    }

    @Test func aJobAskedForDuringAnInlineCommitRunsOnTheWriterThreadAfterIt() {
        var ownership = StorageOwnership(commitsInline: true)
        #expect(Self.taken(ownership.submit(Self.batch("a"), completion: Self.ignore, mayLead: true)) != nil)
        #expect(Self.isNone(ownership.enqueue { _ in }))
        #expect(Self.isWake(ownership.inlineFinished()))
        #expect(Self.run(ownership.writerWoke())?.jobs.count == 1)
    }

    @Test func aFailedInlineCommitLeavesItsWritesForTheWriterThreadsRetryAheadOfNewerOnes() {
        var ownership = StorageOwnership(commitsInline: true)
        let first = Self.taken(ownership.submit(Self.batch("old"), completion: Self.ignore, mayLead: true))
        _ = ownership.submit(Self.batch("new"), .quietly)
        #expect(Self.isWake(ownership.inlineFinished(failed: first?.writes)))
        #expect(ownership.retrying)
        // No loop leads while the failed writes wait for their retry.
        #expect(Self.taken(ownership.submit(Self.batch("later"), completion: Self.ignore, mayLead: true)) == nil)
        let retry = Self.run(ownership.writerWoke())
        #expect(retry?.writes.breakers.map(\.name) == ["old", "new", "later"])
        // The retry fails too: kept again, and the writer waits for its backoff.
        #expect(Self.isNone(ownership.writerFinished(failed: retry?.writes)))
        #expect(Self.run(ownership.writerWoke())?.writes.breakers.map(\.name) == ["old", "new", "later"])
        #expect(Self.isNone(ownership.writerFinished()))
        #expect(!ownership.retrying)
        #expect(Self.taken(ownership.submit(Self.batch("x"), completion: Self.ignore, mayLead: true)) != nil)
    }

    @Test func lazyWritesWaitForCompanyWithoutKeepingLoopsFromLeading() {
        var ownership = StorageOwnership(commitsInline: true)
        #expect(Self.isWake(ownership.submit(Self.batch("rejected"), .lazily)))
        guard case .holdLazy = ownership.writerWoke() else { Issue.record("not held"); return }
        #expect(ownership.holder == .nobody)
        // More lazy writes during the hold need no wake-up.
        #expect(Self.isNone(ownership.submit(Self.batch("rejected-2"), .lazily)))
        // A loop leading meanwhile takes them along; the writer then finds nothing to do.
        let taken = Self.taken(ownership.submit(Self.batch("mine"), completion: Self.ignore, mayLead: true))
        #expect(taken?.writes.breakers.map(\.name) == ["rejected", "rejected-2", "mine"])
        #expect(Self.isNone(ownership.inlineFinished()))
        guard case .sleep = ownership.writerWoke(afterLazyHold: true) else { Issue.record("not asleep"); return }

        // Without company, the writer commits them after the hold.
        #expect(Self.isWake(ownership.submit(Self.batch("alone"), .lazily)))
        guard case .holdLazy = ownership.writerWoke() else { Issue.record("not held"); return }
        #expect(Self.run(ownership.writerWoke(afterLazyHold: true))?.writes.breakers.map(\.name) == ["alone"])
    }

    @Test func aWriterWokenWhileALoopCommitsIsHandedTheStorageWhenTheLoopIsDone() {
        var ownership = StorageOwnership(commitsInline: true)
        #expect(Self.isWake(ownership.submit(Self.batch("rejected"), .lazily)))
        #expect(Self.taken(ownership.submit(Self.batch("a"), completion: Self.ignore, mayLead: true)) != nil)
        _ = ownership.submit(Self.batch("rejected-2"), .lazily)
        guard case .sleep = ownership.writerWoke() else { Issue.record("the writer took a held storage"); return }
        #expect(Self.isWake(ownership.inlineFinished()))
        guard case .holdLazy = ownership.writerWoke() else { Issue.record("not held"); return }
        #expect(Self.run(ownership.writerWoke(afterLazyHold: true))?.writes.breakers.map(\.name) == ["rejected-2"])
    }

    @Test func stoppingDuringAnInlineCommitRefusesNewWorkAndTheWriterTakesTheRest() {
        var ownership = StorageOwnership(commitsInline: true)
        #expect(Self.taken(ownership.submit(Self.batch("a"), completion: Self.ignore, mayLead: true)) != nil)
        _ = ownership.submit(Self.batch("b"), .quietly)
        #expect(Self.isNone(ownership.stop()))
        guard case .refuse = ownership.submit(Self.batch("c"), completion: Self.ignore, mayLead: true) else {
            Issue.record("accepted after stop"); return
        }
        #expect(Self.isWake(ownership.inlineFinished()))
        guard case .run(let rest, stopping: true) = ownership.writerWoke() else { Issue.record("not run"); return }
        #expect(rest.writes.breakers.map(\.name) == ["b"])
    }

    /// A wake-up is signalled at most once until the writer takes it (its semaphore's count
    /// stays at one), whatever arrives meanwhile.
    @Test func theWriterIsSignalledOncePerWakeUp() {
        var ownership = StorageOwnership(commitsInline: false)
        #expect(Self.isWake(ownership.submit(Self.batch("a"), completion: Self.ignore)))
        #expect(Self.isNone(ownership.submit(Self.batch("b"), completion: Self.ignore)))
        #expect(Self.isNone(ownership.enqueue { _ in }))
        #expect(Self.run(ownership.writerWoke()) != nil)
        #expect(Self.isWake(ownership.submit(Self.batch("c"), completion: Self.ignore)))
        #expect(Self.isWake(ownership.writerFinished()) == false)  // already signalled
    }
}
