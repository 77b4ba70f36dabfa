import BreakerWire

extension BreakerRegistry {
    /// Takes a place for a new breaker; false (and nothing taken) at `maxBreakers`. Called under
    /// the new breaker's shard lock, before it is inserted.
    func reserveBreaker() -> Bool {
        guard count.add(1, ordering: .relaxed).newValue > settings.maxBreakers else { return true }
        count.subtract(1, ordering: .relaxed)
        return false
    }

    /// The answer to a command that would create a breaker beyond `maxBreakers`.
    func overloaded(_ name: String) -> WireError {
        WireError(.overloaded, "cannot create breaker '\(name)': the daemon holds its limit of \(settings.maxBreakers) breakers (--max-breakers); existing breakers keep working")
    }
}
