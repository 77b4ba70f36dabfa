import BreakerCore
import BreakerWire

/// A breaker's name, state and last state change: what choosing a status page's first screen needs.
public struct BreakerGlance: Sendable {
    public let name: String
    public let state: BreakerState
    public let lastStateChange: Timestamp
}

extension BreakerRegistry {
    /// Every breaker at a glance, in no particular order: one lock per shard and no copy of any
    /// breaker, a fraction of what `snapshot()` costs (which copies, advances and sorts them all).
    /// A deadline already due is left to its timer, as a glance would see it a moment earlier.
    /// Walks every shard: never on an event loop.
    public func glance() -> [BreakerGlance] {
        var glances: [BreakerGlance] = []
        glances.reserveCapacity(breakerCount)
        for shard in shards {
            shard.breakers.withLock { breakers in
                for (name, slot) in breakers {
                    glances.append(BreakerGlance(name: name, state: slot.breaker.state,
                                                 lastStateChange: slot.breaker.metrics.lastStateChange))
                }
            }
        }
        return glances
    }

    /// The named breakers as `inspect` sees them, in the order given; names not found are left out.
    public func views(_ names: [String]) -> [BreakerView] {
        names.compactMap(view)
    }
}
