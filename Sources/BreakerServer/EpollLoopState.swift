#if os(Linux)
import CEpoll
import Glibc
import Logging
import NIOCore

/// What one `EpollLoop` thread owns: its connections, its share of the listener, the receive
/// buffer it reads into. Touched only on that thread (it is created there, by the thread).
final class EpollLoopState {
    let loop: EpollLoop
    /// The listener, on the first loop only; nil on the others.
    let listenFD: Int32?
    /// Every loop of the server, this one included: the first deals new connections out to
    /// them in turn (as NIO's `group.next()` does), so two busy clients land on different
    /// threads and one cannot hold up the other.
    let loops: [EpollLoop]
    private var nextLoop = 0
    let makeHandler: () -> ConnectionHandler
    let policy: TransportPolicy
    let idleTimeoutNanoseconds: UInt64?
    let logger: Logger
    var exiting = false
    /// Commits this loop's connections asked for during the current turn; the loop submits
    /// them once at the end of each pass (see `EpollLoop.run`).
    let commits = CommitCoalescer(.endOfTurn)
    /// Controls taken from the inbox (see `EpollLoop.runInbox`).
    var taken: [EpollLoop.Control] = []
    /// Reads land here; a handler that keeps a partial line shares it, and the next read then
    /// gets fresh storage (copy on write) instead of overwriting it.
    var receiveBuffer: ByteBuffer?
    /// At most this much is read from one socket per wake-up (as Redis, 16 KiB: ~300 request
    /// lines), so a client pipelining without pause gets its turn and then the others get
    /// theirs; more waits in the kernel for the next turn.
    static let readSize = 16_384

    private var connections: [UInt64: EpollConnection] = [:]
    private var nextToken: UInt64 = 2
    private var accepting = true
    /// After the process runs out of descriptors the listener rests briefly instead of waking
    /// the loop for the same error over and over (it is level-triggered).
    private var acceptPausedUntil: UInt64?
    private var nextSweep: UInt64 = 0
    /// Connections closing gracefully and waiting for their peer (`EpollConnection.linger`).
    var lingering = 0

    init(loop: EpollLoop, loops: [EpollLoop], listenFD: Int32?, policy: TransportPolicy, logger: Logger,
         makeHandler: @escaping () -> ConnectionHandler) {
        self.loop = loop
        self.loops = loops
        self.listenFD = listenFD
        self.policy = policy
        self.idleTimeoutNanoseconds = policy.idleTimeout.map { max(1, $0.nanosecondsClamped) }
        self.logger = logger
        self.makeHandler = makeHandler
        accepting = listenFD != nil
        if accepting { listen(true) }
    }

    func connection(_ token: UInt64) -> EpollConnection? { connections[token] }

    // MARK: Accepting

    private func listen(_ on: Bool) {
        guard let listenFD else { return }
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: EpollLoop.listenerToken))
        _ = epoll_ctl(loop.epollFD, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listenFD, &event)
    }

    func acceptConnections() {
        guard accepting, acceptPausedUntil == nil, let listenFD else { return }
        for _ in 0..<64 {
            let fd = breakerd_accept4(listenFD, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case EINTR, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    logger.warning("cannot accept a connection; pausing accepts for 100 ms",
                                   metadata: ["error": "\(String(cString: strerror(errno)))"])
                    listen(false)
                    acceptPausedUntil = Self.now() + 100_000_000
                    return
                default:
                    logger.error("accept failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                    return
                }
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let target = loops[nextLoop]
            nextLoop = (nextLoop + 1) % loops.count
            if target === loop { adopt(fd) } else { target.send(.adopt(fd)) }
        }
    }

    /// Serves an accepted socket on this loop.
    func adopt(_ fd: Int32) {
        let token = nextToken
        nextToken += 1
        let connection = EpollConnection(fd: fd, token: token, state: self, handler: makeHandler())
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: token))
        guard epoll_ctl(loop.epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            logger.error("cannot watch an accepted connection", metadata: ["errno": "\(errno)"])
            Glibc.close(fd)
            return
        }
        connections[token] = connection
        connection.lastRead = Self.now()
        connection.handler.activate(connection)
    }

    func stopAccepting() -> Int {
        if accepting && acceptPausedUntil == nil { listen(false) }
        accepting = false
        return 0
    }

    // MARK: Connections

    func removed(_ connection: EpollConnection) {
        connections[connection.token] = nil
    }

    /// Graceful stop: every connection answers what it has read and closes (see
    /// `ConnectionHandler.stopReading`).
    func stopReadingAll() -> Int {
        let all = Array(connections.values)
        for connection in all {
            connection.setReading(false)
            connection.handler.stopReading()
        }
        return all.count
    }

    /// Closes every connection; returns how many were still being served (not counting those
    /// only lingering after their last reply).
    func closeAll() -> Int {
        let all = Array(connections.values)
        let served = all.filter { !$0.linger.isLingering }.count
        for connection in all { connection.close() }
        return served
    }

    /// Closes the connections whose handler serves `registry`; returns how many.
    func closeServed(by registry: BreakerRegistry) -> Int {
        let served = connections.values.filter { $0.handler.registry === registry }
        for connection in served { connection.close() }
        return served.count
    }

    // MARK: Time

    static func now() -> UInt64 {
        let (seconds, attoseconds) = SystemClock.monotonic().components
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// How long `epoll_wait` may sleep: until the next sweep (idle connections, lingers) or
    /// paused accept is due, or for ever when there is nothing to time.
    func waitTimeoutMilliseconds() -> Int32 {
        var due: UInt64?
        if (idleTimeoutNanoseconds != nil || lingering > 0), !connections.isEmpty { due = nextSweep }
        if let resume = acceptPausedUntil { due = min(due ?? resume, resume) }
        guard let due else { return -1 }
        let now = Self.now()
        guard due > now else { return 0 }
        return Int32(min((due - now + 999_999) / 1_000_000, 1_000))
    }

    /// Closes (through its handler: watchers stay) every connection that sent nothing for the
    /// idle timeout, checked a few times per timeout; ends lingers past their deadline (checked
    /// every 250 ms while any lingers); and resumes a paused listener.
    func sweepIdleConnections() {
        let now = Self.now()
        if let resume = acceptPausedUntil, now >= resume {
            acceptPausedUntil = nil
            if accepting { listen(true) }
        }
        guard idleTimeoutNanoseconds != nil || lingering > 0, now >= nextSweep else { return }
        let timeout = idleTimeoutNanoseconds ?? .max
        nextSweep = now + min(max(timeout / 4, 5_000_000), lingering > 0 ? 250_000_000 : 1_000_000_000)
        for connection in Array(connections.values) {
            if connection.linger.isLingering {
                connection.lingerTick(now: now)
            } else if now &- connection.lastRead >= timeout {
                connection.lastRead = now
                connection.handler.idle()
            }
        }
    }
}
#endif
