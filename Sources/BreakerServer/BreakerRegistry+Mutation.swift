import BreakerCore
import BreakerStore
import BreakerWire
import Logging
import NIOCore

/// Changing one breaker under its shard lock, and handing the consequences off before the lock
/// is released: watchers, the writer, the deadline timers.
extension BreakerRegistry {
    /// Runs `body` on the breaker under its shard lock, creating it if asked (nil when it does
    /// not exist and may not be created, or when creating it would pass `maxBreakers`). Whatever the body
    /// returns as transitions is published, scheduled and handed to the writer before the lock
    /// is released, so watchers and the transition log see one breaker's changes in order.
    func mutate<R>(_ name: String, create: Bool, actor: String? = nil, note: String? = nil,
                           _ body: (inout CircuitBreaker, Timestamp) -> (R, [Transition])) -> R? {
        Self.shard(for: name, in: shards).breakers.withLock { breakers -> R? in
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
            let (before, rejectedBefore) = Self.peek(&slot.breaker)
            let (result, transitions) = body(&slot.breaker, now)
            let (deadline, rejectedAfter) = Self.peek(&slot.breaker)
            if created || !transitions.isEmpty {
                afterChange(name, deadline, transitions, rescheduled: before != deadline, actor: actor, note: note)
            } else if rejectedBefore != rejectedAfter {
                // Only a rejection counted: persisted with the next commit (protocol: "written
                // with the next commit"), which it may wait a moment for, instead of a commit
                // per rejection while a breaker is open.
                writer.submitLazily(name)
                if before != deadline { schedule(name, deadline, now: now) }
            } else if before != deadline {
                schedule(name, deadline, now: now)
            }
            return result
        }
    }

    /// A breaker's deadline and rejection count, read in place: through the dictionary's getter
    /// the whole breaker would be copied out first.
    @inline(__always)
    static func peek(_ breaker: inout CircuitBreaker) -> (Timestamp?, UInt64) {
        (breaker.nextDeadline, breaker.metrics.rejectedCalls)
    }

    /// Must be called with `name`'s shard lock held.
    func afterChange(_ name: String, _ nextDeadline: Timestamp?, _ transitions: [Transition], rescheduled: Bool = true,
                             actor: String? = nil, note: String? = nil) {
        hub.publish(name, transitions)
        for transition in transitions {
            let level: Logger.Level = transition.to == .open || transition.to == .forcedOpen ? .warning : .info
            logger.log(level: level, "breaker transition", metadata: [
                "breaker": "\(name)", "from": "\(transition.from.wireName)", "to": "\(transition.to.wireName)",
                "reason": "\(transition.reason.wireName)", "generation": "\(transition.generation)",
                "actor": "\(actor ?? "-")",
            ])
        }
        writer.submit(name, transitions: transitions.map { transition in
            // Only the admin's own transition carries who and why, not what time did meanwhile.
            let byAdmin = [.reset, .forcedOpen, .released].contains(transition.reason)
            return LoggedTransition(breaker: name, transition: transition, actor: byAdmin ? actor : nil, note: byAdmin ? note : nil)
        })
        if rescheduled { schedule(name, nextDeadline, now: clock.now()) }
    }

    /// Wakes up at `deadline` to apply it, so watchers hear of time-driven transitions even
    /// when no traffic arrives. A wake-up that finds nothing due is harmless.
    func schedule(_ name: String, _ deadline: Timestamp?, now: Timestamp) {
        guard let deadline else { return }
        let delay = now.milliseconds(until: deadline) + 1
        timers.scheduleTask(in: .milliseconds(delay)) { [weak self] in
            guard let self else { return }
            _ = self.mutate(name, create: false) { breaker, now in
                let transitions = breaker.advance(to: now)
                if transitions.isEmpty, let due = breaker.nextDeadline, due > now {
                    self.schedule(name, due, now: now)  // woke up early: try again
                }
                return ((), transitions)
            }
        }
    }

    static func shard(for name: String, in shards: [Shard]) -> Shard {
        var hasher = Hasher()
        hasher.combine(name)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    static func notFound(_ name: String) -> WireError {
        WireError(.notFound, "no breaker named '\(name)'")
    }
}
