import BreakerLine
import BreakerTLS
import BreakerWire

/// One reply: the line as it came (printed as-is with `--json`), its JSON, and what
/// `ReplyDecoder` (the decoder BreakerClient uses) makes of it. A reply breakerctl cannot read
/// fails at the edge, before anything is printed.
struct DaemonReply {
    var line: String
    var value: JSONValue
    var reply: Reply

    subscript(key: String) -> JSONValue? { value[key] }
}

/// One blocking connection to breakerd (BreakerLine's `LineConnection`, plain or with
/// `--tls`), its failures turned into breakerctl's exit codes and messages. Given several
/// daemons (a cluster), it connects to the first that answers and follows a `not_leader` reply
/// to the leader it names (or the next daemon), sending the request again there.
final class AdminConnection {
    private var connection: LineConnection
    private var addresses: [(host: String, port: Int)]
    private var index: Int
    private let tls: TLSOptions.Settings?
    private let timeoutMs: Int64
    /// The `auth` line, sent again after following `not_leader` to another daemon.
    private var authLine: String?
    var address: String { connection.address }

    init(addresses: [(host: String, port: Int)], tls: TLSOptions.Settings?, timeoutMs: Int64) throws {
        self.addresses = addresses
        self.tls = tls
        self.timeoutMs = timeoutMs
        var failure: CtlError?
        for (index, address) in addresses.enumerated() {
            do {
                connection = try Self.open(address, tls: tls, timeoutMs: timeoutMs)
                self.index = index
                return
            } catch let error as CtlError {
                guard error.exitCode == 3 else { throw error }  // a TLS setup problem is the same everywhere
                failure = error
            }
        }
        throw failure ?? CtlError.unreachable("no address", "none given")
    }

    private static func open(_ address: (host: String, port: Int), tls: TLSOptions.Settings?, timeoutMs: Int64) throws -> LineConnection {
        let lineTLS: LineTLS?
        do throws(TLSSetupError) {
            lineTLS = try tls.map { s throws(TLSSetupError) in
                try LineTLS(caFile: s.caFile, certificateFile: s.certificateFile, keyFile: s.keyFile, host: address.host, serverName: s.serverName)
            }
        } catch {
            throw CtlError.usage(error.message)
        }
        do throws(LineConnectionError) {
            return try LineConnection(host: address.host, port: address.port, tls: lineTLS, timeout: .milliseconds(timeoutMs))
        } catch {
            throw CtlError.unreachable("\(address.host):\(address.port)", error.reason)
        }
    }

    /// Sends `auth` (and again after moving to the leader).
    func authenticate(token: String) throws {
        authLine = RequestEncoder.line(.auth(token: token))
        _ = try request(.auth(token: token))
    }

    /// Sends one request; returns the reply, or throws the daemon's error (exit 1) after
    /// printing the raw reply when `echoErrors` is set (so `--json` scripts see it too). A
    /// `not_leader` reply is followed (at most 3 times) and the request sent again.
    func request(_ command: Command, echoErrors: Bool = false) throws -> DaemonReply {
        let line = RequestEncoder.line(command)
        var redirects = 0
        while true {
            try send(line)
            let (text, value, message) = try read(expecting: command.replyKind)
            switch message {
            case .reply(_, let reply):
                return DaemonReply(line: text, value: value, reply: reply)
            case .error(_, let error):
                if error.code == .notLeader, redirects < 3 {
                    redirects += 1
                    try follow(leader: error.leader)
                    continue
                }
                if echoErrors { print(text) }
                throw CtlError.daemon(code: error.code.rawValue, message: error.message)
            case .event, .unknownEvent:
                throw CtlError(message: "error: breakerd at \(address) sent an event where a reply was due: \(text.prefix(200))",
                               exitCode: 1)
            }
        }
    }

    /// Connects to `leader` (`HOST:PORT`), or to the next address when it names none, and
    /// authenticates again there.
    private func follow(leader: String?) throws {
        if let leader, let colon = leader.lastIndex(of: ":"), let port = Int(leader[leader.index(after: colon)...]) {
            let target = (host: String(leader[..<colon]), port: port)
            if let known = addresses.firstIndex(where: { $0.host == target.host && $0.port == target.port }) {
                index = known
            } else {
                addresses.append(target)
                index = addresses.count - 1
            }
        } else {
            index = (index + 1) % addresses.count
        }
        connection = try Self.open(addresses[index], tls: tls, timeoutMs: timeoutMs)
        if let authLine {
            try send(authLine)
            if case .error(_, let error) = try read(expecting: .authenticated).message {
                throw CtlError.daemon(code: error.code.rawValue, message: error.message)
            }
        }
    }

    func send(_ line: String) throws {
        do throws(LineConnectionError) {
            try connection.send(line)
        } catch {
            throw CtlError.unreachable(address, error.reason)
        }
    }

    /// The next line, decoded as `expecting` (nil: an event); `waitForever` is for `watch`,
    /// which idles until an event comes.
    func read(expecting: ReplyKind?, waitForever: Bool = false) throws -> (line: String, value: JSONValue, message: DaemonMessage) {
        let line: String
        do throws(LineConnectionError) {
            line = try connection.readLine(waitForever: waitForever)
        } catch {
            throw CtlError.unreachable(address, error.reason)
        }
        guard let value = try? JSONParser.parse(line) else {
            throw CtlError(message: "error: breakerd at \(address) sent a line that is not JSON: \(line.prefix(200))", exitCode: 1)
        }
        do throws(ReplyDecodingError) {
            return (line, value, try ReplyDecoder.decode(value, expecting: expecting))
        } catch {
            throw CtlError(message: "error: breakerd at \(address) sent a reply breakerctl cannot read (\(error.message)): \(line.prefix(200))",
                           exitCode: 1)
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
