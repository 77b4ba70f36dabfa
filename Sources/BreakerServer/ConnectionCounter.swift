import Synchronization

/// Counts open connections against a limit. Every connection calls `open` once when it becomes
/// active and `close` once when it goes away, whether or not it was admitted.
final class ConnectionCounter: Sendable {
    let limit: Int
    private let current = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts the connection and says whether it is within the limit.
    func open() -> Bool {
        current.add(1, ordering: .relaxed).newValue <= limit
    }

    func close() {
        current.subtract(1, ordering: .relaxed)
    }

    var count: Int { current.load(ordering: .relaxed) }
}
