import ArgumentParser
import Foundation
import BreakerWire
#if canImport(Glibc)
import Glibc
#endif

/// How long to wait for the daemon. Its own group because `configure --timeout` is the
/// breaker's timeout; there only `--request-timeout` names this.
struct WaitOptions: ParsableArguments {
    @Option(name: [.customLong("timeout"), .customLong("request-timeout")],
            help: "How long to wait for the daemon (e.g. 500ms, 5s).", transform: parseDuration)
    var timeout: Int64 = 5000

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }
}

/// Options every subcommand takes (with `WaitOptions`).
struct GlobalOptions: ParsableArguments {
    @Option(help: "breakerd host (default: from BREAKERD_ADDR, else 127.0.0.1).")
    var host: String?

    @Option(help: "breakerd port (default: from BREAKERD_ADDR, else 7420).")
    var port: Int?

    @Flag(help: "Print the daemon's reply as JSON, for scripts.")
    var json = false

    @Option(name: .customLong("token-file"), help: "File holding the admin token (else BREAKERD_TOKEN).")
    var tokenFile: String?

    @Flag(name: .customLong("no-color"), help: "Never colour the output.")
    var noColor = false

    @OptionGroup(title: "TLS")
    var tls: TLSOptions

    func validate() throws {
        if let port, !(1...65_535).contains(port) { throw ValidationError("--port must be 1...65535") }
    }

    /// The daemons to try, in order. Flags win over BREAKERD_ADDR (`host:port`, or a
    /// comma-separated list of them for a cluster), which wins over the defaults.
    var addresses: [(host: String, port: Int)] {
        var resolved: [(host: String, port: Int)] = []
        if let env = getenv("BREAKERD_ADDR").map({ String(cString: $0) }) {
            for item in env.split(separator: ",") {
                let text = item.trimmingCharacters(in: .whitespaces)
                if let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) {
                    resolved.append((String(text[..<colon]), port))
                }
            }
        }
        if resolved.isEmpty { resolved = [(host: "127.0.0.1", port: 7420)] }
        guard host != nil || port != nil else { return resolved }
        return [(host ?? resolved[0].host, port ?? resolved[0].port)]
    }

    var colored: Bool { !noColor && getenv("NO_COLOR") == nil && isatty(STDOUT_FILENO) == 1 }

    func connect(timeoutMs: Int64) throws -> AdminConnection {
        try AdminConnection(addresses: addresses, tls: try tls.settings(), timeoutMs: timeoutMs)
    }

    /// Connects and, when a token is configured, authenticates first.
    func connectAsAdmin(timeoutMs: Int64) throws -> AdminConnection {
        let connection = try connect(timeoutMs: timeoutMs)
        if let token = try token() {
            try connection.authenticate(token: token)
        }
        return connection
    }

    private func token() throws -> String? {
        if let tokenFile {
            guard let file = fopen(tokenFile, "r") else { throw CtlError.usage("cannot read --token-file \(tokenFile)") }
            defer { fclose(file) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = fread(&buffer, 1, buffer.count, file)
            let text = String(decoding: buffer[..<n], as: UTF8.self)
            return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        return getenv("BREAKERD_TOKEN").map { String(cString: $0) }
    }

    /// Prints a reply the way `--json` asks for, or hands it to `human`.
    func emit(_ reply: DaemonReply, human: (DaemonReply) throws -> Void) rethrows {
        if json { print(reply.line) } else { try human(reply) }
    }
}
