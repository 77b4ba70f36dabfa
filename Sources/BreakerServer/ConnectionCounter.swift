/// Counts open connections against a limit. Every connection calls `open` once when it becomes
/// active and `close` once when it goes away, whether or not it was admitted.
final class ConnectionCounter: Sendable {
    let limit: Int
    private let current = OpenCount()
    /// Mirrors the count into `breakerd_connections_open` and friends.
    private let metrics: ServerMetrics?

    init(limit: Int, metrics: ServerMetrics? = nil) {
        self.limit = limit
        self.metrics = metrics
    }

    /// Counts the connection and says whether it is within the limit.
    func open() -> Bool {
        let admitted = current.increment() <= limit
        metrics?.connectionOpened(admitted: admitted)
        return admitted
    }

    func close() {
        current.decrement()
        metrics?.connectionClosed()
    }

    var count: Int { current.value }

    /// Waits until every connection is gone (true) or `timeout` passes (false).
    func waitUntilAllClosed(timeout: Duration) async -> Bool { await current.waitForZero(timeout: timeout) }
}
