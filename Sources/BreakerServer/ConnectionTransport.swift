import NIOCore

/// What `ConnectionHandler` needs from the socket under it, so that the same protocol code runs
/// on a NIO channel (TLS connections) and on the daemon's own epoll loop (plain TCP, the hot
/// path; see `EpollServer`). Every method is called on the connection's own thread.
protocol ConnectionTransport: AnyObject {
    /// False while more is queued for the socket than its high-water mark; the handler then
    /// stops moving replies out and stops reading until `writabilityChanged`.
    var isWritable: Bool { get }
    /// Queues bytes; nothing reaches the socket before `flush`.
    func write(_ buffer: ByteBuffer)
    func flush()
    /// Writes everything queued, then closes.
    func closeAfterFlush()
    /// Closes now; what is queued is dropped.
    func close()
    /// Backpressure: stop (or resume) reading from the peer.
    func setReading(_ enabled: Bool)
    /// Runs work on this connection's thread, in the order it was handed over.
    var executor: any ConnectionExecutor { get }
    /// Where replies waiting for a commit ask for it (shared by an epoll loop's connections).
    var commits: CommitCoalescer { get }
    var peerDescription: String { get }
}

/// A thread (an event loop) that runs work handed to it from any thread, in order.
protocol ConnectionExecutor: Sendable {
    func execute(_ work: @escaping @Sendable () -> Void)
}

/// A NIO event loop as the executor of the connections it serves.
struct EventLoopExecutor: ConnectionExecutor {
    let eventLoop: any EventLoop
    func execute(_ work: @escaping @Sendable () -> Void) { eventLoop.execute(work) }
}

/// A reference to a connection's handler that may travel to other threads (a commit completion
/// on the writer thread, a watch publication) but is only used back on the connection's own
/// thread. `@unchecked Sendable` is sound because `value` is private and read only by `hop`,
/// inside work run by `executor`, which is the one thread that owns the handler; no other
/// thread ever touches it.
struct HandlerHop: @unchecked Sendable {
    private let value: ConnectionHandler
    let executor: any ConnectionExecutor

    init(_ value: ConnectionHandler, executor: any ConnectionExecutor) {
        self.value = value
        self.executor = executor
    }

    /// Runs `body` with the handler on its own thread.
    func hop(_ body: @escaping @Sendable (ConnectionHandler) -> Void) {
        executor.execute { [self] in body(value) }
    }
}
