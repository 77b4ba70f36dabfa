extension CircuitBreaker {
    /// This breaker without what is never stored (the window's recent calls): the value a
    /// snapshot hands to the store. Sharing no window buffer with the live breaker, it costs the
    /// live breaker no copy when its window changes next.
    public var storedValue: CircuitBreaker {
        var copy = self
        copy.window = nil
        return copy
    }
}
