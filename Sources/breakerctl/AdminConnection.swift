import BreakerWire

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
/// The bytes travel over a plain socket or, with `--tls`, over TLS.
final class AdminConnection {
    let address: String
    private let transport: any AdminTransport
    private let timeoutMs: Int64
    private var buffer: [UInt8] = []

    init(host: String, port: Int, tls: TLSOptions.Settings?, timeoutMs: Int64) throws {
        address = "\(host):\(port)"
        self.timeoutMs = timeoutMs
        if let tls {
            transport = try TLSTransport(host: host, port: port, settings: tls, timeoutMs: timeoutMs)
        } else {
            transport = try SocketTransport(host: host, port: port, timeoutMs: timeoutMs)
        }
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
        try transport.send(Array((line + "\n").utf8))
    }

    /// The next line; `waitForever` is for `watch`, which idles until an event comes.
    func readReply(waitForever: Bool = false) throws -> Reply {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                guard let value = try? JSONParser.parse(line) else {
                    throw CtlError(message: "error: breakerd at \(address) sent a line that is not JSON: \(line.prefix(200))", exitCode: 1)
                }
                return Reply(line: line, value: value)
            }
            let chunk = try transport.receive(timeoutMs: waitForever ? nil : timeoutMs)
            if chunk.isEmpty { throw CtlError.unreachable(address, "the daemon closed the connection") }
            buffer += chunk
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
