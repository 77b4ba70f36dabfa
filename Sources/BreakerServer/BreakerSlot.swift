import BreakerCore

/// Where a breaker lives in its shard's dictionary. A `Dictionary` keeps its values inline in
/// its buckets, and after growing keeps up to half of them empty: a 408-byte `CircuitBreaker`
/// stored inline cost about 890 bytes of buckets per breaker (1,000,000 breakers: ~900 MiB). In a
/// slot, a bucket holds a name and a reference, and each breaker is allocated once, at its size.
/// Only touched under the shard's lock; never handed out of it (callers get copies).
final class BreakerSlot {
    var breaker: CircuitBreaker
    /// In its shard's `ShardJournal`, waiting to be snapshotted for the writer.
    var journaled = false

    init(_ breaker: CircuitBreaker) { self.breaker = breaker }
}
