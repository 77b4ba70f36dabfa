#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

/// Monotonic nanoseconds.
@inline(__always)
func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// A non-blocking TCP connection with its own inbound and outbound buffers and the send times of
/// the requests still waiting for a reply (FIFO: both protocols answer in order).
final class Connection {
    let fd: Int32
    var inbound: UnsafeMutableRawBufferPointer
    var inStart = 0
    var inEnd = 0
    var outbound: [UInt8] = []
    var outOffset = 0
    /// Ring of send (closed loop) or intended (open loop) times of outstanding requests.
    var sent: [UInt64] = Array(repeating: 0, count: 64)
    var sentHead = 0
    var sentCount = 0
    /// Open loop: when the next request of this connection is due.
    var nextDue: UInt64 = 0
    var closed = false

    init(host: String, port: UInt16) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw BenchError(description: "socket: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw BenchError(description: "not an IPv4 address: \(host)")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw BenchError(description: "connect to \(host):\(port): \(String(cString: strerror(e)))")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
        inbound = .allocate(byteCount: 1 << 16, alignment: 16)
        outbound.reserveCapacity(1 << 14)
    }

    deinit {
        if !closed { close(fd) }
        inbound.deallocate()
    }

    func shutdown() {
        if !closed { close(fd); closed = true }
    }

    @inline(__always)
    func pushSent(_ t: UInt64) {
        if sentCount == sent.count {
            // Grow, unrolling the ring so that the oldest is at 0.
            var grown = [UInt64](repeating: 0, count: sent.count * 2)
            for i in 0..<sentCount { grown[i] = sent[(sentHead + i) % sent.count] }
            sent = grown
            sentHead = 0
        }
        sent[(sentHead + sentCount) % sent.count] = t
        sentCount += 1
    }

    @inline(__always)
    func popSent() -> UInt64 {
        let t = sent[sentHead]
        sentHead = (sentHead + 1) % sent.count
        sentCount -= 1
        return t
    }

    var wantsWrite: Bool { outOffset < outbound.count }

    /// Writes what it can. Returns false when the connection failed.
    func flush() -> Bool {
        while outOffset < outbound.count {
            let n = outbound.withUnsafeBytes { buf in
                write(fd, buf.baseAddress! + outOffset, buf.count - outOffset)
            }
            if n > 0 {
                outOffset += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return true
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        outbound.removeAll(keepingCapacity: true)
        outOffset = 0
        return true
    }

    /// Reads what is there into the inbound buffer. Returns false on EOF or error.
    func fill() -> Bool {
        if inStart == inEnd { inStart = 0; inEnd = 0 }
        if inEnd == inbound.count {
            if inStart > 0 {
                let live = inEnd - inStart
                memmove(inbound.baseAddress!, inbound.baseAddress! + inStart, live)
                inStart = 0
                inEnd = live
            } else {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: inbound.count * 2, alignment: 16)
                bigger.baseAddress!.copyMemory(from: inbound.baseAddress!, byteCount: inEnd)
                inbound.deallocate()
                inbound = bigger
            }
        }
        while true {
            let n = read(fd, inbound.baseAddress! + inEnd, inbound.count - inEnd)
            if n > 0 { inEnd += n; return true }
            if n == 0 { return false }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK
        }
    }
}
