import BreakerCore
import Dispatch
import Foundation
import Logging
import BreakerSync


/// The only writer of a `BreakerDatabase`, on a thread of its own so that no event loop ever
/// waits for SQLite or the disk.
///
/// Group commit: callers change a breaker in memory, then `submit` its name. The thread takes
/// every pending name at once, reads each breaker's *current* state through `snapshot` after
/// taking them, and commits them all in one transaction. Because the snapshot is read after the
/// submit was dequeued, it contains every change applied before that submit, so a `.success`
/// completion means that change is on disk (to the degree `SynchronousMode` promises). While one
/// commit runs, new submits pile up and become the next batch: the busier the daemon, the
/// bigger the batches, with no timer anywhere.
///
/// A failed batch fails its completions, but its names and transitions stay dirty and go into
/// the next batch (or a retry after a growing backoff), so memory and disk converge once the
/// disk accepts writes again.
///
/// Completions, `snapshot` and history callbacks run on the writer thread: keep them short, and
/// never call `flushSync` or `shutdown` from them (they would wait for themselves). The thread
/// holds a strong reference to the writer until `shutdown`, which the daemon must call.
public final class StoreWriter: Sendable {
    public typealias Completion = @Sendable (Result<Void, StoreError>) -> Void
    typealias Job = @Sendable (BreakerDatabase) -> Void

    private struct Pending {
        var names: [String] = []
        /// Names whose only change is worth writing but not worth a commit of its own (a
        /// rejection counted): they ride along with the next batch, or wait `lazyDelay`.
        var lazyNames: [String] = []
        var transitions: [LoggedTransition] = []
        var dedupes: [DedupeRow] = []
        var completions: [Completion] = []
        /// History reads and flush barriers, run after the batch taken with them.
        var jobs: [Job] = []
        /// A wake-up is already on its way; keeps the semaphore's count at most one.
        var signalled = false
        /// The writer is holding lazy names for `lazyDelay`; lazy submits need not wake it.
        var holdingLazy = false
        var stopping = false
        var stats = StoreWriterStats()
    }

    /// Moves the database onto the writer thread. `@unchecked Sendable` is sound: `init` takes
    /// the database as `sending`, so no other reference to it exists, and after `init` only the
    /// writer thread reads `database`.
    private final class Handoff: @unchecked Sendable {
        let database: BreakerDatabase
        init(_ database: sending BreakerDatabase) { self.database = database }
    }

    public let path: String
    private let pending = Mutex(Pending())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()
    private let snapshot: @Sendable (String) -> BreakerSnapshot
    private let logger: Logger
    private let metrics = StoreMetrics()

    /// How long names submitted with `submitLazily` may wait for a batch to join.
    static let lazyDelay: Duration = .milliseconds(100)
    static let firstBackoff: Duration = .milliseconds(100)
    static let maxBackoff: Duration = .seconds(5)
    /// Log rows kept for retry while the disk refuses writes; beyond it the oldest are dropped
    /// (and logged) rather than growing memory without bound.
    static let maxRetainedTransitions = 100_000
    static let dedupePruneInterval: Duration = .seconds(60)
    /// A batch of at least this many breakers (a burst of new names, e.g. a million created in
    /// seconds) leaves its snapshots' memory free but held by malloc; after it the writer hands
    /// free heap back to the system (`malloc_trim`), so a burst does not stay in the RSS.
    static let trimAfterBatch = 10_000

    /// `snapshot` returns the breaker's current in-memory state, or nil if it no longer exists
    /// (then only its transitions are written). It is called on the writer thread.
    public convenience init(
        database: sending BreakerDatabase, snapshot: @escaping @Sendable (String) -> CircuitBreaker?, logger: Logger
    ) {
        self.init(database: database, snapshotWithDedupe: { BreakerSnapshot(breaker: snapshot($0)) }, logger: logger)
    }

    /// As above, and the snapshot also hands over the breaker's dedupe keys not yet written,
    /// read under the same lock as the breaker: a key is committed in the same transaction as
    /// the count it guards, never before nor after it.
    public init(
        database: sending BreakerDatabase, snapshotWithDedupe snapshot: @escaping @Sendable (String) -> BreakerSnapshot,
        logger: Logger
    ) {
        self.path = database.path
        self.snapshot = snapshot
        self.logger = logger
        let handoff = Handoff(database)
        finished.enter()
        let thread = Thread { [self] in
            run(handoff.database)
            finished.leave()
        }
        thread.name = "breakerd-store"
        thread.start()
    }

    public var stats: StoreWriterStats { pending.withLock { $0.stats } }

    /// Queues `name` (and log rows, and dedupe keys: committed in the same transaction as the
    /// breaker's snapshot) for the next batch. Never waits for the disk.
    public func submit(_ name: String, transitions: [LoggedTransition] = [], dedupes: [DedupeRow] = [],
                       completion: Completion? = nil) {
        enqueueChange(completion) { state in
            state.names.append(name)
            state.transitions.append(contentsOf: transitions)
            state.dedupes.append(contentsOf: dedupes)
        }
    }

    /// As `submit`, for several breakers a client changed in one go (the records of one read):
    /// one completion, called once a commit holds every one of them.
    public func submit(names: [String], completion: @escaping Completion) {
        enqueueChange(completion) { $0.names.append(contentsOf: names) }
    }

    private func enqueueChange(_ completion: Completion?, _ add: (inout Pending) -> Void) {
        let wake = pending.withLock { state -> Bool? in
            guard !state.stopping else { return nil }
            add(&state)
            if let completion { state.completions.append(completion) }
            return Self.claimSignal(&state)
        }
        switch wake {
        case nil: completion?(.failure(stoppedError))
        case true?: wakeUp.signal()
        case false?: break
        }
    }

    /// Queues `name` for a commit that may wait up to `lazyDelay` for other work to share it:
    /// for changes nobody waits to see acknowledged (a rejected decision counted in
    /// `rejected_calls`), so that a stream of them costs a few commits a second instead of
    /// back-to-back transactions. Any `submit`, flush or shutdown takes them along at once.
    public func submitLazily(_ name: String) {
        let wake = pending.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.lazyNames.append(name)
            guard !state.holdingLazy else { return false }
            return Self.claimSignal(&state)
        }
        if wake { wakeUp.signal() }
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
        let job: Job = { database in
            completion(Result { () throws(StoreError) in try database.history(breaker: breaker, limit: limit) })
        }
        if !enqueue(job) { completion(.failure(stoppedError)) }
    }

    public func history(breaker: String, limit: Int) async throws(StoreError) -> [LoggedTransition] {
        let result = await withCheckedContinuation { continuation in
            history(breaker: breaker, limit: limit) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Commits what is pending, stops the thread and closes the database. Idempotent; later
    /// submits fail with `.internal`.
    public func shutdown() {
        let wake = pending.withLock { state -> Bool in
            guard !state.stopping else { return false }
            state.stopping = true
            return Self.claimSignal(&state)
        }
        if wake { wakeUp.signal() }
        finished.wait()
    }

    /// Measures `BreakerDatabase.fileSizeBytes()` on the writer thread (the only thread that may
    /// touch the connection), after any batch already taken. `nil` once the writer is shut down.
    public func measureFileSize(completion: @escaping @Sendable (Int64?) -> Void) {
        if !enqueue({ completion($0.fileSizeBytes()) }) { completion(nil) }
    }

    /// Runs `body` with the database on the writer thread, e.g. to flip `query_only` in a test.
    package func withDatabaseForTesting(_ body: @escaping @Sendable (BreakerDatabase) -> Void) {
        let done = DispatchSemaphore(value: 0)
        if enqueue({ body($0); done.signal() }) { done.wait() }
    }

    private var stoppedError: StoreError {
        StoreError(code: .internal, message: "the store writer for \(path) is shut down")
    }

    private func enqueue(_ job: @escaping Job) -> Bool {
        let wake = pending.withLock { state -> Bool? in
            guard !state.stopping else { return nil }
            state.jobs.append(job)
            return Self.claimSignal(&state)
        }
        if wake == true { wakeUp.signal() }
        return wake != nil
    }

    private static func claimSignal(_ state: inout Pending) -> Bool {
        guard !state.signalled else { return false }
        state.signalled = true
        return true
    }

    // MARK: The writer thread

    private func run(_ database: BreakerDatabase) {
        var retry = (names: [String](), transitions: [LoggedTransition](), dedupes: [DedupeRow]())
        var backoff: Duration?
        var lastPrune = ContinuousClock.now
        while true {
            if let backoff {
                _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(backoff.nanoseconds)))
            } else {
                wakeUp.wait()
            }
            var taken = pending.withLock { state in
                defer { state = Pending(signalled: false, stopping: state.stopping, stats: state.stats) }
                return state
            }
            if taken.names.isEmpty && taken.transitions.isEmpty && taken.completions.isEmpty && taken.jobs.isEmpty
                && !taken.lazyNames.isEmpty && !taken.stopping && retry.names.isEmpty {
                // Only lazy names: give other work `lazyDelay` to come and share the commit.
                pending.withLock { $0.holdingLazy = true }
                _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(Self.lazyDelay.nanoseconds)))
                let more = pending.withLock { state in
                    defer { state = Pending(signalled: false, stopping: state.stopping, stats: state.stats) }
                    return state
                }
                taken.names = more.names
                taken.lazyNames += more.lazyNames
                taken.transitions = more.transitions
                taken.completions = more.completions
                taken.jobs = more.jobs
                taken.stopping = more.stopping
            }
            var seen = Set<String>()
            let names = (retry.names + taken.names + taken.lazyNames).filter { seen.insert($0).inserted }
            let transitions = retry.transitions + taken.transitions
            var dedupes = retry.dedupes + taken.dedupes
            var result: Result<Void, StoreError> = .success(())
            if !names.isEmpty || !transitions.isEmpty || !dedupes.isEmpty {
                // Expired dedupe keys go once a minute, with whatever batch comes along.
                let prune = ContinuousClock.now - lastPrune > Self.dedupePruneInterval
                result = commit(names: names, transitions: transitions, dedupes: &dedupes,
                                pruneDedupe: prune, to: database)
                switch result {
                case .success:
                    retry = ([], [], [])
                    backoff = nil
                    if prune { lastPrune = ContinuousClock.now }
                case .failure:
                    retry = (names, retained(transitions), dedupes)
                    backoff = min((backoff ?? Self.firstBackoff / 2) * 2, Self.maxBackoff)
                }
            }
            for completion in taken.completions { completion(result) }
            for job in taken.jobs { job(database) }
            if names.count >= Self.trimAfterBatch { releaseFreeHeap() }
            if taken.stopping { break }
        }
        if !retry.names.isEmpty || !retry.transitions.isEmpty || !retry.dedupes.isEmpty,
           case .failure = commit(names: retry.names, transitions: retry.transitions, dedupes: &retry.dedupes,
                                  pruneDedupe: false, to: database) {
            logger.error("shutting down with unsaved changes", metadata: [
                "path": "\(path)", "breakers": "\(retry.names.count)", "transitions": "\(retry.transitions.count)",
            ])
        }
        database.close()
    }

    /// `dedupes` gains the keys the snapshots hand over, so a failed batch keeps them for the retry.
    private func commit(
        names: [String], transitions: [LoggedTransition], dedupes: inout [DedupeRow], pruneDedupe: Bool,
        to database: BreakerDatabase
    ) -> Result<Void, StoreError> {
        var breakers: [StoredBreaker] = []
        for name in names {
            let taken = snapshot(name)
            if let breaker = taken.breaker { breakers.append(StoredBreaker(name: name, breaker: breaker)) }
            dedupes += taken.dedupes
        }
        let start = ContinuousClock.now
        let pruneBefore = pruneDedupe ? Int64(Date().timeIntervalSince1970 * 1000) : nil
        do {
            try database.write(WriteBatch(breakers: breakers, transitions: transitions, dedupes: dedupes,
                                          pruneDedupeBeforeMs: pruneBefore))
        } catch {
            pending.withLock { $0.stats.batchesFailed += 1; $0.stats.lastError = error }
            metrics.recordFailure()
            logger.error("store write failed; will retry", metadata: [
                "path": "\(path)", "code": "\(error.code.rawValue)", "error": "\(error.message)",
                "breakers": "\(breakers.count)", "transitions": "\(transitions.count)",
            ])
            return .failure(error)
        }
        let nanoseconds = UInt64(max(0, (ContinuousClock.now - start).nanoseconds))
        pending.withLock { state in
            state.stats.batchesCommitted += 1
            state.stats.breakersWritten += UInt64(breakers.count)
            state.stats.transitionsWritten += UInt64(transitions.count)
            state.stats.lastBatchSize = breakers.count
            state.stats.lastCommitNanoseconds = nanoseconds
            state.stats.totalCommitNanoseconds += nanoseconds
            state.stats.lastError = nil
        }
        metrics.recordCommit(breakers: breakers.count, transitions: transitions.count, nanoseconds: nanoseconds)
        return .success(())
    }

    private func retained(_ transitions: [LoggedTransition]) -> [LoggedTransition] {
        let excess = transitions.count - Self.maxRetainedTransitions
        guard excess > 0 else { return transitions }
        logger.error("dropping unsaved transition log rows", metadata: ["path": "\(path)", "dropped": "\(excess)"])
        return Array(transitions.dropFirst(excess))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating; enough for backoffs and commit latencies.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
