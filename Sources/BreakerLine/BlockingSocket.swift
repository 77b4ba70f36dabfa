#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP socket with blocking calls, every wait bounded: no threads, nothing to start.
/// The plain transport of `LineConnection`; tests also use its descriptor directly.
public final class BlockingSocket: ByteTransport {
    /// The socket; closed when this object goes (unless `detach()`ed).
    public private(set) var fd: Int32
    private let address: String
    private var receiveTimeout: Duration?

    /// Connects within `timeout` (a non-blocking connect bounded by `poll`, so an unroutable
    /// address fails in time) with `TCP_NODELAY`; sends and receives are bounded by `timeout`.
    public init(host: String, port: Int, timeout: Duration) throws(LineConnectionError) {
        address = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let info = list else {
            throw LineConnectionError(.connectFailed, "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LineConnectionError(.connectFailed, "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setTimeouts(timeout)
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw failure(String(cString: strerror(errno))) }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ms = timeout.wholeMilliseconds
            guard poll(&pfd, 1, Int32(clamping: ms)) == 1 else { throw failure("connection timed out after \(ms) ms") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw failure(String(cString: strerror(error))) }
        }
        _ = fcntl(fd, F_SETFL, flags)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Hands the descriptor over: the caller closes it.
    public func detach() -> Int32 {
        defer { fd = -1 }
        return fd
    }

    private func failure(_ reason: String) -> LineConnectionError {
        close(fd)
        fd = -1
        return LineConnectionError(.connectFailed, reason)
    }

    /// Send and receive timeouts; nil waits forever.
    private func setTimeouts(_ timeout: Duration?) {
        receiveTimeout = timeout
        let ms = timeout?.wholeMilliseconds ?? 0
        var tv = timeval(tv_sec: Int(ms / 1000), tv_usec: Int(ms % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ bytes: [UInt8]) throws(LineConnectionError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw LineConnectionError(.ioFailed, "send failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    public func receive(timeout: Duration?) throws(LineConnectionError) -> [UInt8] {
        if timeout != receiveTimeout { setTimeouts(timeout) }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw LineConnectionError(.ioFailed, String(cString: strerror(errno))) }
            throw LineConnectionError(.timedOut, "no reply within the timeout")
        }
        return Array(chunk[..<n])
    }
}

extension Duration {
    /// Whole milliseconds, rounded towards zero.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000 &+ attoseconds / 1_000_000_000_000_000
    }
}
