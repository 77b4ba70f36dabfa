import NIOCore
import BreakerSync

/// The open child channels of one listener, so a graceful shutdown can reach every connection
/// (a listening channel knows nothing of the connections it accepted). Each channel removes
/// itself when it closes.
public final class ChannelTracker: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    public init() {}

    public func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.channels.withLock { $0.removeValue(forKey: id) }
        }
    }

    public var count: Int { channels.withLock { $0.count } }

    public var all: [any Channel] { channels.withLock { Array($0.values) } }

    /// Waits until every tracked channel has closed or `timeout` passes; then closes the rest.
    /// Returns how many had to be closed by force.
    public func waitUntilClosed(timeout: Duration) async -> Int {
        let deadline = SystemClock.monotonic() + timeout
        while count > 0, SystemClock.monotonic() < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let left = all
        for channel in left { channel.close(promise: nil) }
        for channel in left { try? await channel.closeFuture.get() }
        return left.count
    }
}
