import BreakerCore
import BreakerWire
import BreakerSync
import struct Synchronization.Atomic

/// Fans transitions out to every connection that sent `watch`.
///
/// `publish` is called with the breaker's shard lock held, so the events of one breaker reach
/// each watcher in the order they happened; delivery itself only enqueues onto the watcher's
/// event loop and never blocks.
final class WatchHub: Sendable {
    struct Watcher: Sendable {
        var prefix: String?
        var deliver: @Sendable ([UInt8]) -> Void
    }

    private let watchers = Mutex<[ObjectIdentifier: Watcher]>([:])
    private let count = Atomic<Int>(0)

    func add(_ id: ObjectIdentifier, prefix: String?, deliver: @escaping @Sendable ([UInt8]) -> Void) {
        watchers.withLock {
            $0[id] = Watcher(prefix: prefix, deliver: deliver)
            count.store($0.count, ordering: .relaxed)
        }
    }

    func remove(_ id: ObjectIdentifier) {
        watchers.withLock {
            $0[id] = nil
            count.store($0.count, ordering: .relaxed)
        }
    }

    /// One event about `name` (a reset without a transition), under its shard lock like
    /// transitions, so it takes its place in that breaker's order.
    func publish(_ name: String, _ event: Event) {
        guard count.load(ordering: .relaxed) > 0 else { return }
        let line = ReplyEncoder.encode(event)
        watchers.withLock {
            for watcher in $0.values where watcher.prefix.map(name.hasPrefix) ?? true { watcher.deliver(line) }
        }
    }

    func publish(_ name: String, _ transitions: [Transition]) {
        guard !transitions.isEmpty, count.load(ordering: .relaxed) > 0 else { return }
        let lines = transitions.map { ReplyEncoder.encode(.transition(breaker: name, $0)) }
        watchers.withLock {
            for watcher in $0.values where watcher.prefix.map(name.hasPrefix) ?? true {
                for line in lines { watcher.deliver(line) }
            }
        }
    }
}
