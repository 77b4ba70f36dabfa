import BreakerStore
import BreakerWire

/// Read-only views for observability: the HTTP endpoints render from these, so what `/metrics`
/// and `/health/circuit-breakers` show is the registry's own state at the moment of the scrape,
/// never a copy kept up to date on the side.
extension BreakerRegistry {
    /// Every breaker's effective state, sorted by name. Like `list`, it applies what time has
    /// done (an expired open deadline becomes half-open, and that transition is counted and
    /// pushed), so a scrape agrees with what watchers were told. It never uses up a permit.
    public func snapshot() -> [BreakerView] {
        list(prefix: nil)
    }

    /// The writer's counters, including `lastError` (nil while writes succeed).
    public var storeStats: StoreWriterStats { writer.stats }

    /// Brings the scrape-time gauges (`breakerd_breakers`, `breakerd_dedupe_keys`,
    /// `breakerd_database_size_bytes`) up to date, then calls `completion`, on the writer's
    /// thread. The size is measured there because only that thread may touch the SQLite
    /// connection. Expired dedupe keys are swept first, so the gauge counts only live ones.
    public func refreshScrapeGauges(completion: @escaping @Sendable () -> Void) {
        metrics.breakers.record(breakerCount)
        sweepDedupe()
        let gauge = metrics.databaseSize
        writer.measureFileSize { size in
            if let size { gauge.record(size) }
            completion()
        }
    }

    /// The writer, for tests that need to make the disk refuse writes.
    package var storeWriterForTesting: StoreWriter { writer }
}
