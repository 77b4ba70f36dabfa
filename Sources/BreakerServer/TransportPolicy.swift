/// How protocol connections are carried, whichever transport carries them (the epoll loops or
/// NIO channels): one table, read by both, instead of literals copied into each.
public struct TransportPolicy: Sendable, Equatable {
    /// Above this many bytes queued for a socket a connection stops moving replies out and stops
    /// reading; it resumes below `lowWater` (NIO's write-buffer watermarks, the same on epoll).
    public var highWater = 256 * 1024
    public var lowWater = 32 * 1024
    /// Connections the kernel queues before they are accepted.
    public var backlog: Int32 = 4096
    /// After its last reply, a closing connection sends its FIN and reads and drops the peer's
    /// input for at most this long, waiting for the peer to close too (see `ClosingLinger`).
    public var linger: Duration = .seconds(2)
    /// A connection that sends nothing for this long is closed, unless it is watching. nil: never.
    public var idleTimeout: Duration? = .seconds(300)

    public init() {}
}

extension Duration {
    /// Whole nanoseconds, for deadlines on a monotonic clock (negative spans count as 0).
    var nanosecondsClamped: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }
}
