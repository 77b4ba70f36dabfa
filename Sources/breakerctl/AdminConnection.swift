import BreakerWire
#if canImport(Glibc)
import Glibc
#endif

/// A parsed reply and the line it came from (printed as-is with `--json`).
struct Reply {
    var line: String
    var value: JSONValue

    subscript(key: String) -> JSONValue? {
        if case .object(let o) = value { return o[key] }
        return nil
    }
}

/// One blocking connection to breakerd: request line out, reply line in, every wait bounded.
final class AdminConnection {
    let address: String
    private let fd: Int32
    private var buffer: [UInt8] = []

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
        var tv = timeval(tv_sec: Int(timeoutMs / 1000), tv_usec: Int(timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
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

    /// Sends one request; returns the reply, or throws the daemon's error (exit 1) after
    /// printing the raw reply when `echo` is set (so `--json` scripts see it too).
    func request(_ line: String, echoErrors: Bool = false) throws -> Reply {
        try send(line)
        let reply = try readReply()
        if reply["ok"] == .bool(false) {
            if echoErrors { print(reply.line) }
            let error = reply["error"]
            throw CtlError.daemon(code: error?.stringValue("code") ?? "unknown", message: error?.stringValue("message") ?? reply.line)
        }
        return reply
    }

    func send(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CtlError.unreachable(address, "send failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// The next line; `waitForever` is for `watch`, which idles until an event comes.
    func readReply(waitForever: Bool = false) throws -> Reply {
        if waitForever {
            var tv = timeval(tv_sec: 0, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                guard let value = try? JSONParser.parse(line) else {
                    throw CtlError(message: "error: breakerd at \(address) sent a line that is not JSON: \(line.prefix(200))", exitCode: 1)
                }
                return Reply(line: line, value: value)
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { throw CtlError.unreachable(address, "the daemon closed the connection") }
            if n < 0 {
                let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "no reply within the timeout" : String(cString: strerror(errno))
                throw CtlError.unreachable(address, reason)
            }
            buffer += chunk[..<n]
        }
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    func stringValue(_ key: String) -> String? {
        if case .string(let s)? = self[key] { return s }
        return nil
    }

    func intValue(_ key: String) -> Int64? {
        if case .int(let i)? = self[key] { return i }
        return nil
    }

    var arrayValue: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }
}
