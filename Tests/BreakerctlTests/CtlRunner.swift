import BreakerTestSupport
import Foundation

/// Runs the built `breakerctl` against a daemon and captures everything it says.
struct CtlResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

func breakerctl(_ arguments: [String], port: Int?, token: String? = nil, environment extra: [String: String] = [:]) throws -> CtlResult {
    var environment = ProcessInfo.processInfo.environment
    environment["BREAKERD_TOKEN"] = token
    environment["BREAKERD_ADDR"] = port.map { "127.0.0.1:\($0)" }
    for (key, value) in extra { environment[key] = value }
    let output = try runProcess(DaemonProcess.executable(named: "breakerctl"), arguments, environment: environment)
    return CtlResult(status: output.status, stdout: output.stdout, stderr: output.stderr)
}

/// A daemon process with an admin token file (`alice` / `token`), stopped by `stop()`.
final class AdminDaemon {
    static let token = "s3cret-token-for-alice"
    let directory = makeTempDirectory()
    let daemon: DaemonProcess
    private var arguments: [String] = []

    init(tokens: Bool = true) throws {
        if tokens {
            let path = directory + "/tokens"
            try "# admins\nalice:\(Self.token)\nbob:another-token-for-bob\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
            arguments = ["--admin-token-file", path]
        }
        daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: arguments)
        try daemon.start()
    }

    var port: Int { daemon.port }

    func restart() throws -> DaemonProcess {
        daemon.kill(SIGTERM)
        let again = DaemonProcess(database: daemon.database, arguments: arguments)
        try again.start()
        return again
    }

    deinit {
        daemon.kill(SIGTERM)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
