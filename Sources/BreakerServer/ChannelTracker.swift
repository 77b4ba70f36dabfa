import NIOCore
import BreakerSync

/// The open child channels of one listener, so a graceful shutdown can reach every connection
/// (a listening channel knows nothing of the connections it accepted). Each channel removes
/// itself when it closes.
public final class ChannelTracker: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let open = OpenCount()

    public init() {}

    public func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        open.increment()
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            _ = self.channels.withLock { $0.removeValue(forKey: id) }
            self.open.decrement()
        }
    }

    public var count: Int { open.value }

    public var all: [any Channel] { channels.withLock { Array($0.values) } }

    /// Waits until every tracked channel has closed or `timeout` passes; then closes the rest.
    /// Returns how many had to be closed by force.
    public func waitUntilClosed(timeout: Duration) async -> Int {
        _ = await open.waitForZero(timeout: timeout)
        return await closeAll()
    }

    /// Closes every channel still open and waits for them; returns how many there were.
    public func closeAll() async -> Int {
        let left = all
        for channel in left { channel.close(promise: nil) }
        for channel in left { try? await channel.closeFuture.get() }
        return left.count
    }
}
