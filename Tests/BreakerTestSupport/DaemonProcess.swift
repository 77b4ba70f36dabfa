import Foundation

/// The built `breakerd` executable, run as a child process on a port of its own choosing.
public final class DaemonProcess {
    public let database: String
    public private(set) var port = 0
    /// The HTTP listener's port, from the "breakerd http on" line printed before "listening".
    public private(set) var httpPort = 0
    private let arguments: [String]
    private var launched: ChildProcess?

    /// The running (or ended) daemon; only once started.
    public var process: ChildProcess {
        guard let launched else { preconditionFailure("the daemon has not been started") }
        return launched
    }

    /// Where `swift build` put the executable: beside the test bundle, or `BREAKERD_BIN`.
    public static var executable: String { executable(named: "breakerd") }

    /// A product built beside the test bundle (or named by `BREAKERD_BIN`'s folder).
    public static func executable(named name: String) -> String {
        if let path = ProcessInfo.processInfo.environment["BREAKERD_BIN"] {
            return name == "breakerd" ? path : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(name).path
        }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// `port` 0 lets the daemon pick a free one; a given port is for a daemon started again where
    /// its clients already look for it.
    public init(database: String, port: Int = 0, arguments: [String] = []) {
        self.database = database
        // --http-port 0: many daemons run at once in tests, and 7421 may be taken on this machine.
        self.arguments = ["--port", "\(port)", "--http-port", "0", "--db", database, "--log-level", "error"] + arguments
    }

    /// A test that fails half-way must not leave a daemon behind.
    deinit {
        launched?.send(SIGKILL)
        launched?.waitUntilExit()
    }

    private func launch() throws -> ChildProcess {
        precondition(launched == nil, "a DaemonProcess runs once")
        let process = try ChildProcess(Self.executable, arguments, standardOutput: .pipe, standardError: .pipe)
        launched = process
        return process
    }

    /// Starts the daemon and waits for its "listening" line.
    public func start() throws {
        let process = try launch()
        let deadline = Date().addingTimeInterval(20)
        var seen = ""
        while Date() < deadline {
            let chunk = process.standardOutput.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if let line = seen.split(separator: "\n").first(where: { $0.hasPrefix("breakerd http on ") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
                httpPort = port
            }
            if let line = seen.split(separator: "\n").first(where: { $0.hasPrefix("breakerd listening on ") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
                self.port = port
                return
            }
        }
        process.terminate()
        throw LineClient.Failure(description: "breakerd did not start: \(seen) \(stderrText())")
    }

    public func client() throws -> LineClient { try LineClient(port: port) }

    public func kill(_ signal: Int32) {
        process.send(signal)
        process.waitUntilExit()
    }

    /// Runs the daemon expecting it to fail at start-up; returns its exit status and stderr.
    public func runToExit() throws -> (status: Int32, stderr: String) {
        let process = try launch()
        // Read to the end first: a daemon that writes more than a pipe holds (a sanitizer's
        // report at exit) would otherwise block on the write while we wait for it to exit.
        let errorText = process.standardError.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: errorText, as: UTF8.self))
    }

    /// Runs the daemon to its exit (`--print-config`, a refused start); returns status and both outputs.
    public func runToCompletion() throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try launch()
        let out = process.standardOutput.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), stderrText())
    }

    /// What the daemon has written to stderr so far; blocks until it writes something or exits,
    /// so call it once the daemon has ended, or when it is known to have logged.
    public func stderrText() -> String {
        String(decoding: process.standardError.availableData, as: UTF8.self)
    }
}

public func makeTempDirectory() -> String {
    let path = NSTemporaryDirectory() + "breakerd-proc-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
