
/// Why a `LineConnection` failed, with a stable `code` to switch on and a `reason` for people
/// (breakerctl prints it after "cannot reach breakerd at …").
public struct LineConnectionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure; stable across versions.
    public enum Code: String, Sendable, Hashable {
        /// No connection was made: unresolvable name, refused, unroutable, or a failed TLS handshake.
        case connectFailed = "connect_failed"
        /// Nothing came within the timeout.
        case timedOut = "timed_out"
        /// The daemon closed the connection.
        case closed
        /// Sending or receiving failed on an established connection.
        case ioFailed = "io_failed"
    }

    /// What kind of failure.
    public var code: Code
    /// What happened, e.g. "Connection refused" or "no reply within the timeout"; may change.
    public var reason: String
    /// An error of kind `code` saying `reason`.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    /// The reason.
    public var description: String { reason }
}

/// Bytes to and from breakerd, every wait bounded.
public protocol ByteTransport: AnyObject {
    /// Writes all of `bytes`.
    func send(_ bytes: [UInt8]) throws(LineConnectionError)
    /// The next bytes that arrived; empty when the daemon closed the connection. A nil
    /// `timeout` waits as long as it takes (a `watch`).
    func receive(timeout: Duration?) throws(LineConnectionError) -> [UInt8]
}

/// One blocking connection to breakerd for callers that wait anyway (breakerctl's commands,
/// tests on their own threads): a request line out, the reply line in, every wait bounded.
/// Plain TCP is a `BlockingSocket`; TLS goes through `LineChannel` like BreakerClient's own
/// connections. Replies come back as lines: breakerctl prints them as they are (`--json`).
public final class LineConnection {
    /// `host:port`, for messages.
    public let address: String
    /// The plain socket, for callers that need the descriptor; nil over TLS.
    public let socket: BlockingSocket?
    private let transport: any ByteTransport
    private let timeout: Duration
    private var buffer: [UInt8] = []

    /// Connects to `host:port` (over TLS with `tls`); `timeout` bounds the connect and, by
    /// default, every later wait.
    public init(host: String, port: Int, tls: LineTLS? = nil, timeout: Duration) throws(LineConnectionError) {
        address = "\(host):\(port)"
        self.timeout = timeout
        if let tls {
            socket = nil
            transport = try TLSByteChannel(host: host, port: port, tls: tls, timeout: timeout)
        } else {
            let socket = try BlockingSocket(host: host, port: port, timeout: timeout)
            self.socket = socket
            transport = socket
        }
    }

    /// Sends `line` and its terminator.
    public func send(_ line: String) throws(LineConnectionError) {
        try transport.send(Array((line + "\n").utf8))
    }

    /// The next line, without its terminator. `waitForever` is for `watch`, which idles until
    /// an event comes; otherwise the connection's timeout bounds the wait.
    public func readLine(waitForever: Bool = false) throws(LineConnectionError) -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let chunk = try transport.receive(timeout: waitForever ? nil : timeout)
            if chunk.isEmpty { throw LineConnectionError(.closed, "the daemon closed the connection") }
            buffer += chunk
        }
    }
}
