import BreakerCore
import BreakerStore
import BreakerWire
import Logging

/// Changing one breaker under its shard lock, and handing the consequences off before the lock
/// is released: watchers, the writer (a snapshot taken under that lock), the deadline timers.
extension BreakerRegistry {
    /// Runs `body` on the breaker under its shard lock, creating it if asked (nil when it does
    /// not exist and may not be created, or when creating it would pass `maxBreakers`). Whatever
    /// the body changed is published, scheduled and snapshotted for the writer before the lock is
    /// released, so watchers and the store see one breaker's changes in order. `remember` may
    /// return a dedupe key for the body's result: it is committed with the same snapshot.
    /// `shard` is `name`'s shard index when the caller has it already (see `shardIndex(of:)`).
    /// `commitFollows`: the caller's reply asks for the commit of this breaker's shard
    /// (`replyAfterCommit`), so a change with transitions can wait in the journal for that
    /// request (and an event loop can then commit it inline) instead of waking the writer.
    @inline(__always)
    func mutate<R>(_ name: String, shard index: Int? = nil, create: Bool, commitFollows: Bool = false,
                   actor: String? = nil, note: String? = nil,
                   remember: (R) -> DedupeRow? = { _ in nil },
                   _ body: (inout CircuitBreaker, Timestamp) -> (R, [Transition])) -> R? {
        let shard = shards[index ?? shardIndex(of: name)]
        return shard.breakers.withLock { breakers -> R? in
            let now = clock.now()
            // One lookup by name; then the breaker is read and changed where it lies, in its
            // slot, never copied out and back.
            let slot: BreakerSlot
            let created: Bool
            if let existing = breakers[name] {
                (slot, created) = (existing, false)
            } else {
                guard create, reserveBreaker() else { return nil }
                (slot, created) = (BreakerSlot(CircuitBreaker(config: settings.config(for: name), createdAt: now)), true)
                breakers[name] = slot
            }
            let before = Self.peek(&slot.breaker)
            let (result, transitions) = body(&slot.breaker, now)
            let dedupe = remember(result)
            let after = Self.peek(&slot.breaker)
            let rescheduled = before.deadline != after.deadline
            if created || !transitions.isEmpty {
                afterChange(name, slot.breaker, transitions, journal: shard.journal, rescheduled: rescheduled,
                            handOver: !commitFollows, actor: actor, note: note, dedupe: dedupe)
                return result
            }
            if before.counts != after.counts || dedupe != nil {
                // A counted outcome: committed before its reply, which asks for the commit.
                shard.journal.add(name, slot, dedupe: dedupe)
            } else if before.rejected != after.rejected {
                // Only a rejection counted: persisted with the next commit (protocol: "written
                // with the next commit"), which it may wait a moment for, instead of a commit
                // per rejection while a breaker is open.
                shard.journal.add(name, slot)
                shard.journal.handOver(to: writer, .lazily)
            }
            if rescheduled { schedule(name, after.deadline) }
            return result
        }
    }

    /// What `mutate` compares before and after the body, read in place (through the
    /// dictionary's getter the whole breaker would be copied first): the deadline; the stored
    /// counts a change without a transition can move (outcomes, consecutive failures, half-open
    /// successes, which `reset` clears too); and the rejection count, which waits for a commit.
    @inline(__always)
    static func peek(_ breaker: inout CircuitBreaker) -> (deadline: Timestamp?, counts: (UInt64, Int, Int), rejected: UInt64) {
        (breaker.nextDeadline, (breaker.metrics.totalCalls, breaker.failureCount, breaker.successCount),
         breaker.metrics.rejectedCalls)
    }

    /// Publishes, logs and hands to the writer a change with transitions (or a new breaker),
    /// with everything this shard journaled before it. Must be called with `name`'s shard lock
    /// held, `breaker` being its state after the change, `journal` its shard's. Without
    /// `handOver` the change stays journaled for the commit the caller's reply asks for.
    func afterChange(_ name: String, _ breaker: CircuitBreaker, _ transitions: [Transition], journal: ShardJournal,
                     rescheduled: Bool = true, handOver: Bool = true,
                     actor: String? = nil, note: String? = nil, dedupe: DedupeRow? = nil) {
        hub.publish(name, transitions)
        for transition in transitions {
            let level: Logger.Level = transition.to == .open || transition.to == .forcedOpen ? .warning : .info
            logger.log(level: level, "breaker transition", metadata: [
                "breaker": "\(name)", "from": "\(transition.from.wireName)", "to": "\(transition.to.wireName)",
                "reason": "\(transition.reason.wireName)", "generation": "\(transition.generation)",
                "actor": "\(actor ?? "-")",
            ])
        }
        let logged = transitions.map { transition in
            // Only the admin's own transition carries who and why, not what time did meanwhile.
            let byAdmin = [.reset, .forcedOpen, .released].contains(transition.reason)
            return LoggedTransition(breaker: name, transition: transition, actor: byAdmin ? actor : nil, note: byAdmin ? note : nil)
        }
        journal.add(StoredBreaker(name: name, breaker: breaker.storedValue), transitions: logged, dedupe: dedupe)
        if handOver { journal.handOver(to: writer) }
        if rescheduled { schedule(name, breaker.nextDeadline) }
    }

    /// Calls `completion` once every breaker in `scope`'s shards, changed before the call, is
    /// committed: hands each shard's journal to the writer under that shard's lock (so two
    /// threads' snapshots of one breaker reach the writer in the order they were taken, and a
    /// snapshot is with the writer before anyone can find the journal empty), then asks for the
    /// commit. With `mayCommitInline` (an event loop holding no lock) the commit may be made on
    /// the calling thread, and `completion` called before this returns (see
    /// `StoreWriter.submit`); otherwise `completion` runs on the writer's thread.
    public func whenCommitted(_ scope: CommitScope, mayCommitInline: Bool = false,
                              _ completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        for index in scope.indexes {
            let shard = shards[index]
            shard.breakers.withLock { _ in shard.journal.handOver(to: writer, .quietly) }
        }
        writer.whenCommitted(mayCommitInline: mayCommitInline, completion)
    }

    /// Hands over every shard's journal (at shutdown: nothing acknowledged is left behind).
    func handOverJournals() {
        for shard in shards { shard.breakers.withLock { _ in shard.journal.handOver(to: writer) } }
    }

    /// Wakes up at `deadline` to apply it, so watchers hear of time-driven transitions even
    /// when no traffic arrives. A wake-up that finds nothing due is harmless.
    func schedule(_ name: String, _ deadline: Timestamp?) {
        guard let deadline else { return }
        clock.run(at: deadline) { [weak self] in
            guard let self else { return }
            _ = self.mutate(name, create: false) { breaker, now in
                let transitions = breaker.advance(to: now)
                if transitions.isEmpty, let due = breaker.nextDeadline, due > now {
                    self.schedule(name, due)  // woke up early: try again
                }
                return ((), transitions)
            }
        }
    }

    static func shard(for name: String, in shards: [Shard]) -> Shard {
        shards[shardIndex(for: name, count: shards.count)]
    }

    /// The index of `name`'s shard: hashed once per request, then passed along.
    func shardIndex(of name: String) -> Int { Self.shardIndex(for: name, count: shards.count) }

    /// What a reply about `name` waits for (see `whenCommitted`).
    public func commitScope(of name: String) -> CommitScope { CommitScope(shard: shardIndex(of: name)) }

    /// At most 64 shards: a `CommitScope` keeps a set of them in one `UInt64`.
    static func shardIndex(for name: String, count: Int) -> Int {
        var hasher = Hasher()
        hasher.combine(name)
        return Int(UInt(bitPattern: hasher.finalize()) % UInt(count))
    }

    /// `items` split by the shard of the breaker each names, each group in the given order (a
    /// load fills every shard's table from its group under one lock, at its final size).
    static func byShard<T>(_ items: some Sequence<T>, count: Int, name: (T) -> String) -> [[T]] {
        var groups = Array(repeating: [T](), count: count)
        for item in items { groups[shardIndex(for: name(item), count: count)].append(item) }
        return groups
    }

    static func notFound(_ name: String) -> WireError {
        WireError(.notFound, "no breaker named '\(name)'")
    }
}
