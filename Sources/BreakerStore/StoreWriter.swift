import BreakerCore
import Dispatch
import Foundation
import Logging
import BreakerSync

/// The only user of a `BreakerStorage` once the daemon runs, on a thread of its own, so that no
/// event loop ever waits for the disk or the network. It knows nothing of SQLite.
///
/// Group commit: callers change a breaker in memory and, under the lock they changed it under,
/// `submit` a snapshot of it (a value). The thread takes everything pending at once and writes
/// it in one `BreakerStorage.write`; a newer snapshot of a breaker supersedes an older one in
/// the same batch. A completion (`whenCommitted`, or one passed to `submit`) is answered with
/// the result of the batch it was taken with, which holds every snapshot submitted before it:
/// `.success` means those changes are committed. While one commit runs, new submits pile up and
/// become the next batch: the busier the daemon, the bigger the batches, with no timer anywhere.
///
/// A failed batch fails its completions, but its writes stay and go into the next batch (or a
/// retry after a growing backoff), so memory and storage converge once writes succeed again.
///
/// Completions and history callbacks run on the writer thread: keep them short (hop back to an
/// event loop), and never call `flushSync` or `shutdown` from them (they would wait for
/// themselves). The thread holds a strong reference to the writer until `shutdown`, which the
/// daemon must call.
public final class StoreWriter: Sendable {
    public typealias Completion = @Sendable (Result<Void, StoreError>) -> Void
    typealias Job = @Sendable (any BreakerStorage) -> Void

    struct State {
        var pending = PendingWrites()
        /// A wake-up is already on its way; keeps the semaphore's count at most one.
        var signalled = false
        /// The writer is holding lazy snapshots for `lazyDelay`; lazy submits need not wake it.
        var holdingLazy = false
        var stopping = false
        var stats = StoreWriterStats()
    }

    /// Moves the storage onto the writer thread. `@unchecked Sendable` is sound: `init` takes
    /// the storage as `sending`, so no other reference to it exists, and after `init` only the
    /// writer thread reads `storage`.
    private final class Handoff: @unchecked Sendable {
        let storage: any BreakerStorage
        init(_ storage: sending any BreakerStorage) { self.storage = storage }
    }

    public let location: String
    let state = Mutex(State())
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
        self.elapsed = elapsed
        self.logger = logger
        let handoff = Handoff(storage)
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
    /// breaker arrive in the order of its changes. Never waits for storage. `completion` is
    /// answered once a commit holds everything submitted so far.
    public func submit(_ changes: WriteBatch, completion: Completion? = nil) {
        let wake = state.withLock { state -> Bool? in
            guard !state.stopping else { return nil }
            state.pending.writes.absorb(changes)
            if let completion { state.pending.completions.append(completion) }
            state.pending.urgent = true
            return Self.claimSignal(&state)
        }
        switch wake {
        case nil: completion?(.failure(stoppedError))
        case true?: wakeUp.signal()
        case false?: break
        }
    }

    /// Queues changes for the next batch without waking the writer: for a caller that hands over
    /// several pieces and then asks for the commit (`whenCommitted`), so that the writer wakes
    /// once for all of them, not once per piece (each wake-up may start a smaller batch).
    public func stage(_ changes: WriteBatch) {
        state.withLock { state in
            guard !state.stopping else { return }
            state.pending.writes.absorb(changes)
        }
    }

    /// Answers `completion` once everything submitted before the call is committed (or failed).
    public func whenCommitted(_ completion: @escaping Completion) {
        submit(WriteBatch(), completion: completion)
    }

    /// Queues changes for a commit that may wait up to `lazyDelay` for other work to share it: for changes nobody waits to see acknowledged (a rejected decision counted in
    /// `rejected_calls`), so that a stream of them costs a few commits a second instead of
    /// back-to-back transactions. Any submit, flush or shutdown takes them along at once.
    public func submitLazily(_ changes: WriteBatch) {
        let wake = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.pending.writes.absorb(changes)
            guard !state.holdingLazy else { return false }
            return Self.claimSignal(&state)
        }
        if wake { wakeUp.signal() }
    }

    /// Deletes dedupe keys expired at `before` with the next batch. The caller reads `before`
    /// from its clock; the store has none.
    /// It does not wake the writer: like any prune, it rides with whatever batch comes next.
    public func pruneDedupe(before: Timestamp) {
        state.withLock { state in
            guard !state.stopping else { return }
            state.pending.writes.absorb(WriteBatch(pruneDedupeBefore: before))
        }
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
        let wake = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.stopping = true
            return Self.claimSignal(&state)
        }
        if wake { wakeUp.signal() }
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
        let wake = state.withLock { state -> Bool? in
            guard !state.stopping else { return nil }
            state.pending.jobs.append(job)
            state.pending.urgent = true
            return Self.claimSignal(&state)
        }
        if wake == true { wakeUp.signal() }
        return wake != nil
    }

    private static func claimSignal(_ state: inout State) -> Bool {
        guard !state.signalled else { return false }
        state.signalled = true
        return true
    }
}
