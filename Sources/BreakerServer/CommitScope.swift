/// Which of the registry's shards a reply waits for: a commit of a scope hands over those
/// shards' journals (every breaker changed in them so far) and answers once they are on disk.
/// A set of shard indexes in one word, so that a connection (or an event loop's turn) can gather
/// the scopes of many replies with an `or` and ask for one commit of all of them; the registry
/// computes a breaker's shard once, when it handles the request.
public struct CommitScope: Sendable, Hashable {
    /// Bit `i` set: shard `i`. The registry has at most 64 shards.
    var shards: UInt64

    /// Nothing to commit.
    public static let empty = CommitScope(shards: 0)

    init(shards: UInt64) { self.shards = shards }

    init(shard index: Int) {
        precondition(index >= 0 && index < 64, "at most 64 shards")
        self.shards = 1 << UInt64(index)
    }

    public var isEmpty: Bool { shards == 0 }

    public mutating func formUnion(_ other: CommitScope) { shards |= other.shards }

    /// The shard indexes in the scope, lowest first.
    var indexes: some Sequence<Int> {
        sequence(state: shards) { (bits: inout UInt64) -> Int? in
            guard bits != 0 else { return nil }
            defer { bits &= bits - 1 }
            return bits.trailingZeroBitCount
        }
    }
}
