import BreakerLine
import BreakerWire
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately plain blocking TCP client for tests: one request line out, one reply line in,
/// with a receive timeout so a broken daemon fails a test instead of hanging it. It is
/// BreakerLine's `LineConnection` (the one breakerctl uses) with the socket-level extras tests
/// need: raw bytes, a half-close, a sender for another thread.
public final class LineClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    private let connection: LineConnection
    private let fd: Int32

    public init(port: Int, host: String = "127.0.0.1", timeoutSeconds: Int = 10) throws {
        do throws(LineConnectionError) {
            connection = try LineConnection(host: host, port: port, timeout: .seconds(timeoutSeconds))
        } catch {
            throw Failure(description: "connect to \(host):\(port): \(error.reason)")
        }
        fd = connection.socket!.fd
        // Sends block as long as the daemon does not read (tests of slow readers rely on it);
        // `sender.abort()` wakes them.
        var forever = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &forever, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ line: String) throws {
        try sendRaw(Array((line + "\n").utf8))
    }

    public func sendRaw(_ bytes: [UInt8]) throws {
        try sender.send(bytes)
    }

    /// The next line, without its terminator; throws on timeout or when the daemon closed.
    public func readLine() throws -> String {
        do throws(LineConnectionError) {
            return try connection.readLine()
        } catch {
            throw Failure(description: error.reason)
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

/// A connected blocking TCP socket with a receive timeout (and TCP_NODELAY), for test clients
/// that work below lines; the caller closes it.
public func connectTCP(host: String, port: Int, timeoutSeconds: Int) throws -> Int32 {
    do throws(LineConnectionError) {
        return try BlockingSocket(host: host, port: port, timeout: .seconds(timeoutSeconds)).detach()
    } catch {
        throw LineClient.Failure(description: "connect to \(host):\(port): \(error.reason)")
    }
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
