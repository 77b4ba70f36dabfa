import struct Synchronization.Atomic

/// Counters over every `/events` stream, for tests and for judging the bound: the most bytes any
/// stream ever had queued, events dropped for slow readers, and `resync` events sent.
final class EventStreamStats: Sendable {
    private let maxPending = Atomic<Int>(0)
    private let droppedTotal = Atomic<Int>(0)
    private let resyncTotal = Atomic<Int>(0)

    var maxPendingBytes: Int { maxPending.load(ordering: .relaxed) }
    var droppedEvents: Int { droppedTotal.load(ordering: .relaxed) }
    var resyncs: Int { resyncTotal.load(ordering: .relaxed) }

    func pending(_ bytes: Int) {
        var seen = maxPending.load(ordering: .relaxed)
        while bytes > seen {
            let (exchanged, original) = maxPending.compareExchange(expected: seen, desired: bytes, ordering: .relaxed)
            if exchanged { return }
            seen = original
        }
    }

    func dropped(_ count: Int) { droppedTotal.add(count, ordering: .relaxed) }
    func resynced() { resyncTotal.add(1, ordering: .relaxed) }
}
