#if os(Linux)
import BreakerSync
import CEpoll
import Glibc
import Logging
import NIOCore

/// The protocol listener on the daemon's own epoll loops: plain TCP only (TLS connections go
/// through NIO). The first loop accepts and deals the connections out to all loops in turn;
/// each connection then lives on its loop until it closes.
///
/// Why not NIO for these: at one request per round trip, the daemon's CPU per decision was
/// 9–11 µs through a NIO channel pipeline against 4.8–7.4 µs for Redis' own event loop; the
/// protocol code was 8% of it. See BENCHMARKS.md, fourth round.
final class EpollServer: Sendable {
    let localAddress: SocketAddress
    private let listenFD: Int32
    private let loops: [EpollLoop]
    private let connections: ConnectionCounter
    private let lifecycle = Mutex((listening: true, running: true))

    private init(localAddress: SocketAddress, listenFD: Int32, loops: [EpollLoop], connections: ConnectionCounter) {
        self.localAddress = localAddress
        self.listenFD = listenFD
        self.loops = loops
        self.connections = connections
    }

    static func start(configuration: BreakerServer.Configuration, threads: Int, connections: ConnectionCounter,
                      logger: Logger, makeHandler: @escaping @Sendable () -> ConnectionHandler) throws -> EpollServer {
        let (listenFD, localAddress) = try bind(host: configuration.host, port: configuration.port,
                                                backlog: configuration.transport.backlog)
        var loops: [EpollLoop] = []
        do {
            for _ in 0..<max(1, threads) { loops.append(try EpollLoop()) }
        } catch {
            Glibc.close(listenFD)
            throw error
        }
        let policy = configuration.transport
        let all = loops
        for (index, loop) in loops.enumerated() {
            loop.start({ loop in
                EpollLoopState(loop: loop, loops: all, listenFD: index == 0 ? listenFD : nil, policy: policy,
                               logger: logger, makeHandler: makeHandler)
            }, name: "breakerd-io-\(index)")
        }
        return EpollServer(localAddress: localAddress, listenFD: listenFD, loops: loops, connections: connections)
    }

    private static func bind(host: String, port: Int, backlog: Int32) throws -> (Int32, SocketAddress) {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family: Int32 = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { Glibc.bind(fd, $0, socklen_t($1)) }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw IOError(errnoCode: code, reason: "bind(descriptor:ptr:bytes:)")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let local: SocketAddress = withUnsafeBytes(of: storage) { raw in
            family == AF_INET6 ? SocketAddress(raw.load(as: sockaddr_in6.self), host: host)
                               : SocketAddress(raw.load(as: sockaddr_in.self), host: host)
        }
        return (fd, local)
    }

    /// Stops accepting: every loop lets go of the listener, which is then closed.
    func stopAccepting() async {
        guard lifecycle.withLock({ state in defer { state.listening = false }; return state.listening }) else { return }
        _ = await onEveryLoop { .stopAccepting(done: $0) }
        Glibc.close(listenFD)
    }

    /// Closes the connections `registry` serves and keeps accepting (`BreakerServer.closeConnections`).
    func closeConnections(servedBy registry: BreakerRegistry) async {
        guard lifecycle.withLock({ $0.running }) else { return }
        _ = await onEveryLoop { .closeServed(by: registry, done: $0) }
    }

    /// Stops accepting and closes every connection at once, then ends the loops.
    func stop() async {
        await stopAccepting()
        _ = await onEveryLoop { .closeAll(done: $0) }
        await endLoops()
    }

    private func endLoops() async {
        guard lifecycle.withLock({ state in defer { state.running = false }; return state.running }) else { return }
        _ = await onEveryLoop { .exit(done: $0) }
    }

    /// See `BreakerServer.shutdownGracefully`.
    func shutdownGracefully(timeout: Duration) async -> Int {
        guard lifecycle.withLock({ $0.running }) else { return 0 }
        await stopAccepting()
        _ = await onEveryLoop { .stopReading(done: $0) }
        _ = await connections.waitUntilAllClosed(timeout: timeout)
        let forced = await onEveryLoop { .closeAll(done: $0) }
        await endLoops()
        return forced
    }

    /// Sends a control to every loop and returns the sum of what they report, once all have.
    private func onEveryLoop(_ control: (@escaping @Sendable (Int) -> Void) -> EpollLoop.Control) async -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let tally = Mutex((left: loops.count, sum: 0))
            for loop in loops {
                loop.send(control { count in
                    let total = tally.withLock { tally -> Int? in
                        tally.left -= 1
                        tally.sum += count
                        return tally.left == 0 ? tally.sum : nil
                    }
                    if let total { continuation.resume(returning: total) }
                })
            }
        }
    }
}
#endif
