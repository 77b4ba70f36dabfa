import BreakerSync

/// The registry that serves requests now. A daemon on SQLite keeps one for its whole run. A
/// daemon of a PostgreSQL cluster replaces it whenever its role changes: an empty standby
/// registry while it does not lead, a registry loaded from PostgreSQL for each term it leads
/// (nothing of a term's memory, permits or pending writes ever crosses into the next).
///
/// A protocol connection takes the registry current when it is accepted and keeps it; the
/// daemon closes every connection when it replaces the registry (`BreakerServer.closeConnections`),
/// so a connection lives within one term. The HTTP listener reads `registry` per request.
public final class ServingRegistry: Sendable {
    private let current: Mutex<BreakerRegistry>

    public init(_ registry: BreakerRegistry) {
        current = Mutex(registry)
    }

    public var registry: BreakerRegistry { current.withLock { $0 } }

    /// Puts `registry` in place; returns the one it replaced (which the caller shuts down).
    @discardableResult
    public func replace(with registry: BreakerRegistry) -> BreakerRegistry {
        current.withLock { current in
            let old = current
            current = registry
            return old
        }
    }
}
