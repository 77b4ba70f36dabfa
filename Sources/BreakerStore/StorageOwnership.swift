/// Who may use the storage, and what waits for it: the `StoreWriter`'s state, a value whose
/// mutating methods say what the caller must do next (as swift-nio's state machines do), so the
/// rules are tested without threads (`StorageOwnershipTests`). Every call is made under the
/// writer's lock; whoever an action names as the holder uses the storage with the lock released.
///
/// **Leader/follower group commit.** A storage that `commitsInline` (SQLite at
/// `synchronous=NORMAL`: a commit is a local write of microseconds) is committed by the first
/// event loop that asks for a commit while nobody holds it: `submit(…, mayLead: true)` answers
/// `.commitHere` with everything pending, and that loop writes it on its own thread (no hand-off,
/// no wake-up) and reports back with `inlineFinished`. Whatever arrives meanwhile (from other
/// loops, the HTTP side, timers) joins `pending`, and the writer thread takes it once the
/// leader is done: the storage is used by exactly one thread at a time, and each holder takes
/// everything pending when it starts, so commits stay in submission order.
///
/// The writer thread still owns everything else: jobs (history reads, size, flush barriers),
/// lazy snapshots (after `lazyDelay`), retries after a failed commit (no loop leads while a
/// failed batch's writes wait: `retrying`), the final commit at shutdown, and every commit of a
/// storage that must not commit on an event loop (PostgreSQL).
struct StorageOwnership {
    enum Holder: Equatable {
        case nobody
        /// An event loop is committing inline.
        case loop
        /// The writer thread is using the storage, or is woken to (reserved, so that loops
        /// cannot keep it from its jobs).
        case writerThread
    }

    private(set) var holder = Holder.nobody
    /// Changes, completions and jobs not yet taken by a holder.
    private(set) var pending = PendingWrites()
    private(set) var stopping = false
    /// `pending` holds a failed commit's writes: the writer thread retries them; no loop leads
    /// until a commit succeeds again.
    private(set) var retrying = false
    /// The writer thread holds off for `lazyDelay` because only lazy writes wait.
    private(set) var holdingLazy = false
    /// A wake-up of the writer thread is on its way: keeps its semaphore's count at most one.
    private var signalled = false
    /// The writer thread was needed while a loop held the storage: the loop hands it over.
    private var writerWanted = false
    let commitsInline: Bool

    init(commitsInline: Bool) { self.commitsInline = commitsInline }

    /// What a submitting thread does after `submit`.
    enum SubmitAction {
        case none
        /// Signal the writer thread's semaphore.
        case wakeWriter
        /// The caller holds the storage now: commit `PendingWrites` on this thread, answer its
        /// completions, then call `inlineFinished`.
        case commitHere(PendingWrites)
        /// The writer is shut down: fail the completion.
        case refuse
    }

    enum Urgency { case now, lazily, quietly }

    /// Queues changes (and a completion) for a commit. `.now` wants it committed at once;
    /// `.lazily` may wait `lazyDelay` for company; `.quietly` waits for whatever commit comes
    /// next. With `mayLead`, a storage that commits inline and nobody holding it, the caller
    /// becomes the committer.
    mutating func submit(_ changes: WriteBatch, completion: StoreWriter.Completion? = nil,
                         _ urgency: Urgency = .now, mayLead: Bool = false) -> SubmitAction {
        guard !stopping else { return completion == nil ? .none : .refuse }
        pending.writes.absorb(changes)
        if let completion { pending.completions.append(completion) }
        switch urgency {
        case .quietly:
            return .none
        case .lazily:
            // Not reserved for the writer thread: a loop leading meanwhile takes these along.
            return holdingLazy ? .none : signal()
        case .now:
            pending.urgent = true
            if mayLead && commitsInline && holder == .nobody && !retrying {
                holder = .loop
                return .commitHere(takeWrites())
            }
            return callWriter()
        }
    }

    /// Queues a job for the writer thread, after everything submitted so far.
    mutating func enqueue(_ job: @escaping StoreWriter.Job) -> SubmitAction {
        guard !stopping else { return .refuse }
        pending.jobs.append(job)
        return callWriter()
    }

    /// Stops taking work; the writer commits what is pending and ends. False if already stopping.
    mutating func stop() -> SubmitAction {
        guard !stopping else { return .none }
        stopping = true
        return callWriter()
    }

    /// The inline committer is done; `failed` is its batch's writes if the commit failed (kept
    /// for the writer thread's retry, before anything submitted since).
    mutating func inlineFinished(failed: WriteBatch? = nil) -> SubmitAction {
        precondition(holder == .loop, "only the inline committer finishes an inline commit")
        holder = .nobody
        if let failed { keepForRetry(failed) }
        guard writerWanted || retrying || stopping || pending.urgent || !pending.jobs.isEmpty else { return .none }
        return callWriter()
    }

    /// What the writer thread does after waking up.
    enum WriterAction {
        /// Nothing for it now: wait for the next signal.
        case sleep
        /// Only lazy writes wait: give them `lazyDelay` to get company, then call again with
        /// `afterLazyHold`.
        case holdLazy
        /// The writer thread holds the storage: commit the writes, answer the completions, run
        /// the jobs, then call `writerFinished`.
        case run(PendingWrites, stopping: Bool)
    }

    mutating func writerWoke(afterLazyHold: Bool = false) -> WriterAction {
        signalled = false
        if holder == .loop {
            writerWanted = true
            return .sleep
        }
        holdingLazy = false
        let onlyLazy = !pending.urgent && pending.jobs.isEmpty && pending.completions.isEmpty && !stopping && !retrying
        if onlyLazy {
            holder = .nobody
            if pending.writes.isEmpty { return .sleep }
            if !afterLazyHold {
                holdingLazy = true
                return .holdLazy
            }
        }
        holder = .writerThread
        let taken = pending
        pending = PendingWrites()
        return .run(taken, stopping: stopping)
    }

    /// The writer thread is done with what it took; `failed` as for `inlineFinished`. Answers
    /// `.wakeWriter` if more urgent work came meanwhile (the writer keeps the storage for it).
    mutating func writerFinished(failed: WriteBatch? = nil) -> SubmitAction {
        precondition(holder == .writerThread, "only the writer thread finishes its run")
        if let failed {
            keepForRetry(failed)
        } else {
            retrying = false
        }
        holder = .nobody
        // After a failure the writer retries after its backoff, or at once for urgent work.
        guard stopping || pending.urgent || !pending.jobs.isEmpty else { return .none }
        return callWriter()
    }

    /// Writes of a failed commit, left at shutdown: nothing may take them any more.
    mutating func takeLeftoverWrites() -> WriteBatch {
        defer { pending.writes = WriteBatch() }
        return pending.writes
    }

    // MARK: Helpers

    /// Writes and completions for an inline commit; jobs stay for the writer thread.
    private mutating func takeWrites() -> PendingWrites {
        let taken = PendingWrites(writes: pending.writes, completions: pending.completions, urgent: true)
        pending.writes = WriteBatch()
        pending.completions = []
        pending.urgent = false
        return taken
    }

    private mutating func keepForRetry(_ failed: WriteBatch) {
        var writes = failed
        writes.absorb(pending.writes)  // later submits are newer
        pending.writes = writes
        retrying = true
    }

    /// The writer thread is needed: reserve the storage for it if free, or have the loop hand
    /// it over when its commit ends.
    private mutating func callWriter() -> SubmitAction {
        switch holder {
        case .loop:
            writerWanted = true
            return .none
        case .nobody, .writerThread:
            holder = .writerThread
            writerWanted = false
            return signal()
        }
    }

    private mutating func signal() -> SubmitAction {
        guard !signalled else { return .none }
        signalled = true
        return .wakeWriter
    }
}
