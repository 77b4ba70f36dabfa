import BreakerLine
import BreakerTLS
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

/// One blocking connection to breakerd (BreakerLine's `LineConnection`, plain or with
/// `--tls`), its failures turned into breakerctl's exit codes and messages.
final class AdminConnection {
    private let connection: LineConnection
    var address: String { connection.address }

    init(host: String, port: Int, tls: TLSOptions.Settings?, timeoutMs: Int64) throws {
        let lineTLS: LineTLS?
        do throws(TLSSetupError) {
            lineTLS = try tls.map { s throws(TLSSetupError) in
                try LineTLS(caFile: s.caFile, certificateFile: s.certificateFile, keyFile: s.keyFile, host: host, serverName: s.serverName)
            }
        } catch {
            throw CtlError.usage(error.message)
        }
        do throws(LineConnectionError) {
            connection = try LineConnection(host: host, port: port, tls: lineTLS, timeout: .milliseconds(timeoutMs))
        } catch {
            throw CtlError.unreachable("\(host):\(port)", error.reason)
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
        do throws(LineConnectionError) {
            try connection.send(line)
        } catch {
            throw CtlError.unreachable(address, error.reason)
        }
    }

    /// The next line; `waitForever` is for `watch`, which idles until an event comes.
    func readReply(waitForever: Bool = false) throws -> Reply {
        let line: String
        do throws(LineConnectionError) {
            line = try connection.readLine(waitForever: waitForever)
        } catch {
            throw CtlError.unreachable(address, error.reason)
        }
        guard let value = try? JSONParser.parse(line) else {
            throw CtlError(message: "error: breakerd at \(address) sent a line that is not JSON: \(line.prefix(200))", exitCode: 1)
        }
        return Reply(line: line, value: value)
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
