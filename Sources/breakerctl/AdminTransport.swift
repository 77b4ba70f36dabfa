#if canImport(Glibc)
import Glibc
#endif

/// Bytes to and from breakerd, every wait bounded. Errors are `CtlError.unreachable` (exit 3).
protocol AdminTransport: AnyObject {
    func send(_ bytes: [UInt8]) throws
    /// The next bytes that arrived; empty when the daemon closed the connection. `timeoutMs`
    /// nil waits for as long as it takes (`watch`).
    func receive(timeoutMs: Int64?) throws -> [UInt8]
}

/// A plain TCP socket with blocking calls: no threads, nothing to start.
final class SocketTransport: AdminTransport {
    private let address: String
    private let fd: Int32

    init(host: String, port: Int, timeoutMs: Int64) throws {
        address = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let info = list else {
            throw CtlError.unreachable("\(host):\(port)", "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CtlError.unreachable(address, "socket: \(String(cString: strerror(errno)))") }
        setTimeout(timeoutMs)
        // Non-blocking connect bounded by poll, so an unroutable address fails within --timeout.
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw failure(String(cString: strerror(errno))) }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, Int32(timeoutMs)) == 1 else { throw failure("connection timed out after \(timeoutMs) ms") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw failure(String(cString: strerror(error))) }
        }
        _ = fcntl(fd, F_SETFL, flags)
    }

    deinit { close(fd) }

    private func failure(_ reason: String) -> CtlError {
        close(fd)
        return CtlError.unreachable(address, reason)
    }

    /// Send and receive timeouts; 0 waits forever.
    private func setTimeout(_ ms: Int64) {
        var tv = timeval(tv_sec: Int(ms / 1000), tv_usec: Int(ms % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CtlError.unreachable(address, "send failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    func receive(timeoutMs: Int64?) throws -> [UInt8] {
        if timeoutMs == nil {
            var tv = timeval(tv_sec: 0, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "no reply within the timeout" : String(cString: strerror(errno))
            throw CtlError.unreachable(address, reason)
        }
        return Array(chunk[..<n])
    }
}
