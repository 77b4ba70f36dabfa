#if os(Linux)
import CEpoll
import Glibc
import NIOCore

/// One accepted socket on an `EpollLoop`: reads into the loop's buffer and hands the bytes to
/// its `ConnectionHandler`, queues the handler's replies and writes them, and watches for the
/// socket to become writable again when the peer reads slower than we answer. Level-triggered:
/// a connection reads once per wake-up, so one busy peer cannot starve the others.
final class EpollConnection: ConnectionTransport {
    let fd: Int32
    let token: UInt64
    unowned let state: EpollLoopState
    let handler: ConnectionHandler
    var lastRead: UInt64 = 0

    /// Written by the handler, not yet taken by the socket.
    private var pending: ByteBuffer?
    private var reading = true
    /// The peer half-closed: nothing more to read, ever.
    private var inputEnded = false
    private var closeWhenFlushed = false
    /// Closing after the last reply: FIN, then input dropped until the peer closes or the
    /// policy's linger passes.
    private(set) var linger: ClosingLinger
    /// The handler has been told the connection is over (at the start of a linger, or at close).
    private var deactivated = false
    private var closed = false
    /// The epoll interest currently registered.
    private var interest = EPOLLIN.rawValue
    private(set) var isWritable = true

    init(fd: Int32, token: UInt64, state: EpollLoopState, handler: ConnectionHandler) {
        self.fd = fd
        self.token = token
        self.state = state
        self.handler = handler
        self.linger = ClosingLinger(duration: state.policy.linger)
    }

    var executor: any ConnectionExecutor { state.loop }
    var commits: CommitCoalescer { state.commits }

    var peerDescription: String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let found = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) == 0 }
        }
        guard found else { return "?" }
        switch Int32(storage.ss_family) {
        case AF_INET: return withUnsafeBytes(of: storage) { "\(SocketAddress($0.load(as: sockaddr_in.self)))" }
        case AF_INET6: return withUnsafeBytes(of: storage) { "\(SocketAddress($0.load(as: sockaddr_in6.self)))" }
        default: return "?"
        }
    }

    // MARK: Events from the loop

    func ready(_ events: UInt32) {
        if linger.isLingering {
            if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { discardInput() }
            return
        }
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0, reading, !inputEnded {
            readOnce()
        }
        guard !closed else { return }
        if events & EPOLLOUT.rawValue != 0 { flush() }
        guard !closed else { return }
        if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            // Reset, or shut down both ways: nothing can be read or written any more.
            close()
        }
    }

    private func readOnce() {
        // Taken out of the state, so `buffer` is its only reference and `clear` keeps the storage.
        var buffer = state.receiveBuffer.take() ?? ConnectionStateMachine.allocator.buffer(capacity: EpollLoopState.readSize)
        buffer.clear()
        var result = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: EpollLoopState.readSize) { space in
            result = Glibc.read(fd, space.baseAddress, min(space.count, EpollLoopState.readSize))
            return max(result, 0)  // the buffer counts bytes; an error is handled below
        }
        if result > 0 {
            if state.idleTimeoutNanoseconds != nil { lastRead = EpollLoopState.now() }
            handler.received(buffer)
            handler.readComplete()
        }
        state.receiveBuffer = buffer
        if result == 0 {
            inputEnded = true
            updateInterest()
            handler.inputClosed()
        } else if result < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
            close()
        }
    }

    // MARK: ConnectionTransport

    func write(_ buffer: ByteBuffer) {
        guard !closed, buffer.readableBytes > 0 else { return }
        if pending == nil || pending!.readableBytes == 0 {
            pending = buffer
        } else {
            var buffer = buffer
            pending!.writeBuffer(&buffer)
        }
        if isWritable, pending!.readableBytes > state.policy.highWater {
            isWritable = false
            handler.writabilityChanged()
        }
    }

    func flush() {
        guard !closed else { return }
        if var out = pending, out.readableBytes > 0 {
            pending = nil
            while out.readableBytes > 0 {
                let written = out.withUnsafeReadableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if written > 0 {
                    out.moveReaderIndex(forwardBy: written)
                } else if written < 0 && errno == EINTR {
                    continue
                } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    break
                } else {
                    close()
                    return
                }
            }
            if out.readableBytes > 0 {
                if out.readerIndex > 65_536 { out.discardReadBytes() }
                pending = out
            }
        }
        let left = pending?.readableBytes ?? 0
        if left == 0 && closeWhenFlushed {
            startLinger()
            return
        }
        updateInterest()
        if !isWritable, left < state.policy.lowWater {
            isWritable = true
            handler.writabilityChanged()
        }
    }

    func closeAfterFlush() {
        closeWhenFlushed = true
        reading = false
        flush()
    }

    func close() {
        guard !closed else { return }
        closed = true
        pending = nil
        if linger.isLingering { state.lingering -= 1 }
        linger.closed()
        _ = epoll_ctl(state.loop.epollFD, EPOLL_CTL_DEL, fd, nil)
        Glibc.close(fd)
        state.removed(self)
        if !deactivated {
            deactivated = true
            handler.deactivate()
        }
    }

    /// The last reply is written: FIN and drain (see `ClosingLinger`). The handler is done at once.
    private func startLinger() {
        switch linger.lastReplyWritten(peerInputEnded: inputEnded, now: EpollLoopState.now()) {
        case .close: close()
        case .shutOutputAndDrain:
            _ = Glibc.shutdown(fd, Int32(SHUT_WR))
            state.lingering += 1
            reading = true
            updateInterest()
            deactivated = true
            handler.deactivate()
        case .none: break
        }
    }

    private func discardInput() {
        // MSG_TRUNC on a TCP socket drops the bytes in the kernel, with no buffer to copy into.
        let result = recv(fd, nil, 1 << 20, Int32(MSG_TRUNC))
        if result > 0 { return }  // level-triggered: more, if any, on the next wake-up
        if result < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
        if linger.peerClosed() == .close { close() }
    }

    /// The sweep's clock: a linger past its deadline ends.
    func lingerTick(now: UInt64) {
        if linger.tick(now: now) == .close { close() }
    }

    func setReading(_ enabled: Bool) {
        guard !closed, !closeWhenFlushed else { return }
        reading = enabled
        updateInterest()
    }

    private func updateInterest() {
        guard !closed else { return }
        var wanted: UInt32 = 0
        if reading && !inputEnded { wanted |= EPOLLIN.rawValue }
        if (pending?.readableBytes ?? 0) > 0 { wanted |= EPOLLOUT.rawValue }
        guard wanted != interest else { return }
        interest = wanted
        var event = epoll_event(events: wanted, data: epoll_data_t(u64: token))
        _ = epoll_ctl(state.loop.epollFD, EPOLL_CTL_MOD, fd, &event)
    }
}
#endif
