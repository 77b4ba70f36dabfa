import BreakerWire
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately plain blocking TCP client for tests: one request line out, one reply line in,
/// with a receive timeout so a broken daemon fails a test instead of hanging it.
public final class LineClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var nextID = 0

    public init(port: Int, host: String = "127.0.0.1", timeoutSeconds: Int = 10) throws {
        fd = try connectTCP(host: host, port: port, timeoutSeconds: timeoutSeconds)
    }

    deinit { Glibc.close(fd) }

    public func send(_ line: String) throws {
        try sendRaw(Array((line + "\n").utf8))
    }

    public func sendRaw(_ bytes: [UInt8]) throws {
        try sender.send(bytes)
    }

    /// The next line, without its terminator; throws on timeout or when the daemon closed.
    public func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { throw Failure(description: "connection closed by the daemon") }
            if n < 0 { throw Failure(description: "recv: errno \(errno) (timeout?)") }
            buffer += chunk[..<n]
        }
    }

    /// Reads the next line and parses it.
    public func readJSON() throws -> JSONValue {
        try JSONParser.parse(try readLine())
    }

    /// Sends one request line and returns its parsed reply.
    @discardableResult
    public func request(_ line: String) throws -> JSONValue {
        try send(line)
        return try readJSON()
    }

    /// True once the daemon has closed the connection (reads EOF within the timeout).
    public func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }

    /// Half-closes the sending side, as `nc -N` does at end of input.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }


    /// The sending side alone, for another thread to write to while this one reads replies (a
    /// Sendable value: just the descriptor). The client must outlive it.
    public var sender: Sender { Sender(fd: fd) }

    public struct Sender: Sendable {
        let fd: Int32

        public func send(_ bytes: [UInt8]) throws {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
                offset += n
            }
        }

        /// Shuts both directions down, waking a thread blocked in `send` or `recv`.
        public func abort() { shutdown(fd, Int32(SHUT_RDWR)) }
    }
}

/// A connected blocking TCP socket with a receive timeout (and TCP_NODELAY), for test clients.
public func connectTCP(host: String, port: Int, timeoutSeconds: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw LineClient.Failure(description: "socket: errno \(errno)") }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &address.sin_addr)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else {
        let error = errno
        Glibc.close(fd)
        throw LineClient.Failure(description: "connect to \(host):\(port): errno \(error)")
    }
    return fd
}

extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var int: Int64? { if case .int(let v) = self { v } else { nil } }
    public var string: String? { if case .string(let v) = self { v } else { nil } }
    public var bool: Bool? { if case .bool(let v) = self { v } else { nil } }
    public var array: [JSONValue]? { if case .array(let v) = self { v } else { nil } }
}
