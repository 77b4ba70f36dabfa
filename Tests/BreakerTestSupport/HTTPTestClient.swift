#if canImport(Glibc)
import Glibc
#endif

/// A deliberately plain blocking HTTP/1.1 client for tests: it writes exactly the bytes it is
/// given, so tests can pipeline, send bodies with GET or oversized headers, and read each
/// response as the server framed it (by `Content-Length`).
public final class HTTPTestClient {
    public struct Response: CustomStringConvertible {
        public var status: Int
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var description: String { "\(status) \(headers) \(text)" }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    public init(port: Int, host: String = "127.0.0.1", timeoutSeconds: Int = 10) throws {
        fd = try connectTCP(host: host, port: port, timeoutSeconds: timeoutSeconds)
    }

    deinit { Glibc.close(fd) }

    /// One request and its response, on this (kept-alive) connection.
    public static func get(_ path: String, port: Int, method: String = "GET") throws -> Response {
        let client = try HTTPTestClient(port: port)
        try client.send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return try client.readResponse(head: method == "HEAD")
    }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw LineClient.Failure(description: "send: errno \(errno)") }
            offset += n
        }
    }

    /// Reads one response. `head`: the request was HEAD, so no body follows whatever the length says.
    public func readResponse(head: Bool = false) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            end = buffer.indices.dropLast(3).first { buffer[$0..<$0 + 4].elementsEqual(separator) }
            if end == nil { try fill() }
        }
        let headText = String(decoding: buffer[..<end!], as: UTF8.self)
        buffer.removeSubrange(..<(end! + 4))
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw LineClient.Failure(description: "bad status line in \(headText)")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: " ")
        }
        let length = head ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        let body = Array(buffer[..<length])
        buffer.removeSubrange(..<length)
        return Response(status: status, headers: headers, body: body)
    }

    /// True once the server has closed the connection within the timeout: EOF, or a reset (a
    /// server that closes with request bytes still unread, as after a rejected header, resets).
    public func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        guard buffer.isEmpty else { return false }
        let n = recv(fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { throw LineClient.Failure(description: "connection closed by the server") }
        if n < 0 { throw LineClient.Failure(description: "recv: errno \(errno) (timeout?)") }
        buffer += chunk[..<n]
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}

/// The value of the first sample line of a Prometheus exposition that starts with `series`
/// (a name with its labels, exactly as written), or nil.
public func prometheusValue(_ exposition: String, _ series: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}
