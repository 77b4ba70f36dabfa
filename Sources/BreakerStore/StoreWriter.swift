import BreakerCore
import Dispatch
import Foundation
import Logging
import BreakerSync

/// The only user of a `BreakerStorage` once the daemon runs. It knows nothing of SQLite.
///
/// Group commit: callers change a breaker in memory and, under the lock they changed it under,
/// `submit` a snapshot of it (a value). Whoever commits takes everything pending at once and
/// writes it in one `BreakerStorage.write`; a newer snapshot of a breaker supersedes an older one
/// in the same batch. A completion (`whenCommitted`, or one passed to `submit`) is answered with
/// the result of the batch it was taken with, which holds every snapshot submitted before it:
/// `.success` means those changes are committed. While one commit runs, new submits pile up and
/// become the next batch: the busier the daemon, the bigger the batches, with no timer anywhere.
///
/// Who commits (leader/follower, see `StorageOwnership`): for a storage that `commitsInline`
/// (SQLite at `synchronous=NORMAL`), an event loop asking with `mayCommitInline` while nobody
/// uses the storage commits on its own thread; everything else — other callers, work arriving
/// during a commit, lazy snapshots, jobs, retries, every commit of a storage over the network —
/// goes to the writer's own thread, so that no event loop ever waits for the network or for
/// another thread's commit. One thread at a time uses the storage.
///
/// A failed batch fails its completions, but its writes stay and go into the next batch (or a
/// retry on the writer thread after a growing backoff), so memory and storage converge once
/// writes succeed again.
///
/// Completions run on whichever thread committed (an event loop's, or the writer's) and history
/// callbacks on the writer thread: keep them short (hop back to an event loop), and never call
/// `flushSync` or `shutdown` from them (they would wait for themselves). The thread holds a
/// strong reference to the writer until `shutdown`, which the daemon must call.
public final class StoreWriter: Sendable {
    public typealias Completion = @Sendable (Result<Void, StoreError>) -> Void
    typealias Job = @Sendable (any BreakerStorage) -> Void

    struct State {
        var ownership: StorageOwnership
        var stats = StoreWriterStats()
    }

    /// Carries the storage to whoever holds it. `@unchecked Sendable` is sound: `init` takes the
    /// storage as `sending`, so no other reference to it exists; after `init` it is used only by
    /// the holder `StorageOwnership` names — the writer thread, or one event loop committing
    /// inline — and the holder changes only under `state`'s lock, so one holder's last use
    /// happens before the next holder's first.
    private final class Handoff: @unchecked Sendable {
        let storage: any BreakerStorage
        init(_ storage: sending any BreakerStorage) { self.storage = storage }
    }

    public let location: String
    let state: Mutex<State>
    private let handoff: Handoff
    let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()
    let logger: Logger
    let metrics = StoreMetrics()
    /// The caller's monotonic reading, for commit durations: the store reads no clock of its own.
    let elapsed: @Sendable () -> Duration

    /// How long snapshots submitted with `submitLazily` may wait for a batch to join.
    static let lazyDelay: Duration = .milliseconds(100)
    static let firstBackoff: Duration = .milliseconds(100)
    static let maxBackoff: Duration = .seconds(5)
    /// Log rows kept for retry while storage refuses writes; beyond it the oldest are dropped
    /// (and logged) rather than growing memory without bound.
    static let maxRetainedTransitions = 100_000
    /// A batch of at least this many breakers (a burst of new names, e.g. a million created in
    /// seconds) leaves its snapshots' memory free but held by malloc; after it the writer hands
    /// free heap back to the system (`malloc_trim`), so a burst does not stay in the RSS.
    static let trimAfterBatch = 10_000

    /// `elapsed` is a monotonic reading of the daemon's clock (only differences are used).
    public init(storage: sending any BreakerStorage, elapsed: @escaping @Sendable () -> Duration, logger: Logger) {
        self.location = storage.location
        self.state = Mutex(State(ownership: StorageOwnership(commitsInline: storage.commitsInline)))
        self.elapsed = elapsed
        self.logger = logger
        let handoff = Handoff(storage)
        self.handoff = handoff
        finished.enter()
        let thread = Thread { [self] in
            run(handoff.storage)
            finished.leave()
        }
        thread.name = "breakerd-store"
        thread.start()
    }

    public var stats: StoreWriterStats { state.withLock { $0.stats } }

    /// Queues snapshots, log rows and dedupe keys for the next batch; they are committed in one
    /// transaction. Call it under the lock the snapshots were taken under, so two submits of one
    /// breaker arrive in the order of its changes. `completion` is answered once a commit holds
    /// everything submitted so far.
    ///
    /// With `mayCommitInline` (an event loop asking for the commit its replies wait for, holding
    /// no lock), a storage that `commitsInline` and nobody using it, the caller commits
    /// everything pending itself, on its own thread, and `completion` (with those of everything
    /// it took) is called before this returns. Otherwise it never waits for storage.
    public func submit(_ changes: WriteBatch, mayCommitInline: Bool = false, completion: Completion? = nil) {
        let action = state.withLock { $0.ownership.submit(changes, completion: completion, mayLead: mayCommitInline) }
        perform(action, refusing: completion)
    }

    /// Queues changes for the next batch without waking the writer: for a caller that hands over
    /// several pieces (each under its own lock) and then asks for the commit (`whenCommitted`),
    /// so that one commit request covers them all.
    public func stage(_ changes: WriteBatch) {
        _ = state.withLock { $0.ownership.submit(changes, .quietly) }
    }

    /// Answers `completion` once everything submitted before the call is committed (or failed).
    public func whenCommitted(mayCommitInline: Bool = false, _ completion: @escaping Completion) {
        submit(WriteBatch(), mayCommitInline: mayCommitInline, completion: completion)
    }

    /// Queues changes for a commit that may wait up to `lazyDelay` for other work to share it: for changes nobody waits to see acknowledged (a rejected decision counted in
    /// `rejected_calls`), so that a stream of them costs a few commits a second instead of
    /// back-to-back transactions. Any submit, flush or shutdown takes them along at once.
    public func submitLazily(_ changes: WriteBatch) {
        perform(state.withLock { $0.ownership.submit(changes, .lazily) }, refusing: nil)
    }

    /// Deletes dedupe keys expired at `before` with the next batch. The caller reads `before`
    /// from its clock; the store has none.
    /// It does not wake the writer: like any prune, it rides with whatever batch comes next.
    public func pruneDedupe(before: Timestamp) {
        stage(WriteBatch(pruneDedupeBefore: before))
    }

    /// Returns once everything submitted before the call has been committed or has failed.
    public func flushSync() {
        let done = DispatchSemaphore(value: 0)
        if enqueue({ _ in done.signal() }) { done.wait() } else { finished.wait() }
    }

    /// Returns once everything submitted before the call has been committed or has failed.
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !enqueue({ _ in continuation.resume() }) {
                finished.notify(queue: .global()) { continuation.resume() }
            }
        }
    }

    /// Reads on the writer thread, after any batch already taken, so it sees every change that
    /// was acknowledged before the call.
    public func history(
        breaker: String, limit: Int, completion: @escaping @Sendable (Result<[LoggedTransition], StoreError>) -> Void
    ) {
        let job: Job = { storage in
            completion(Result { () throws(StoreError) in try storage.history(breaker: breaker, limit: limit) })
        }
        if !enqueue(job) { completion(.failure(stoppedError)) }
    }

    public func history(breaker: String, limit: Int) async throws(StoreError) -> [LoggedTransition] {
        let result = await withCheckedContinuation { continuation in
            history(breaker: breaker, limit: limit) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Commits what is pending, stops the thread and closes the storage. Idempotent; later
    /// submits fail with `.internal`.
    public func shutdown() {
        perform(state.withLock { $0.ownership.stop() }, refusing: nil)
        finished.wait()
    }

    /// Measures `BreakerStorage.sizeBytes()` on the writer thread, after any batch already
    /// taken. `nil` once the writer is shut down.
    public func measureFileSize(completion: @escaping @Sendable (Int64?) -> Void) {
        if !enqueue({ completion($0.sizeBytes()) }) { completion(nil) }
    }

    /// Runs `body` with the storage on the writer thread, e.g. to make writes fail in a test.
    package func withStorageForTesting(_ body: @escaping @Sendable (any BreakerStorage) -> Void) {
        let done = DispatchSemaphore(value: 0)
        if enqueue({ body($0); done.signal() }) { done.wait() }
    }

    var stoppedError: StoreError {
        StoreError(code: .internal, message: "the store writer for \(location) is shut down")
    }

    private func enqueue(_ job: @escaping Job) -> Bool {
        let action = state.withLock { $0.ownership.enqueue(job) }
        perform(action, refusing: nil)
        if case .refuse = action { return false }
        return true
    }

    /// Carries out what `StorageOwnership` answered a submitting thread.
    private func perform(_ action: StorageOwnership.SubmitAction, refusing completion: Completion?) {
        switch action {
        case .none: break
        case .wakeWriter: wakeUp.signal()
        case .refuse: completion?(.failure(stoppedError))
        case .commitHere(let taken): commitInline(taken)
        }
    }

    /// The calling thread holds the storage (see `StorageOwnership`): commit, answer, hand back.
    private func commitInline(_ taken: PendingWrites) {
        var writes = taken.writes
        let outcome = writes.isEmpty ? nil : commit(&writes, to: handoff.storage)
        let result = outcome?.result ?? .success(())
        // The completions only queue work for event loops, which runs after this returns and
        // so after the stats are recorded (with handing the storage back, in one lock).
        for completion in taken.completions { completion(result) }
        // Housekeeping that may fsync (a WAL checkpoint) goes to the writer thread.
        let maintain = handoff.storage.needsMaintenance
        let next = state.withLock { state in
            if let outcome { state.stats.record(outcome, inline: true) }
            if maintain { _ = state.ownership.enqueue { $0.maintain() } }
            return state.ownership.inlineFinished(failed: outcome?.failed == true ? retained(writes) : nil)
        }
        if case .wakeWriter = next { wakeUp.signal() }
        if writes.breakers.count >= Self.trimAfterBatch { releaseFreeHeap() }
    }
}
