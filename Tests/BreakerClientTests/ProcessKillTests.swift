import BreakerClient
import BreakerTestSupport
import Foundation
import Testing

/// The built `breakerd` executable, killed with SIGKILL mid-traffic and started again on the
/// same port and database: the closest thing to a daemon crashing under a live service.
final class BreakerdProcess {
    let database: String
    let port: Int
    private var process: ChildProcess?

    static var executable: String? {
        if let path = ProcessInfo.processInfo.environment["BREAKERD_BIN"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("breakerd").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    init(database: String, port: Int) {
        self.database = database
        self.port = port
    }

    /// Starts the daemon and waits for its "listening" line.
    func start() throws {
        let process = try ChildProcess(Self.executable!, ["--port", "\(port)", "--db", database, "--log-level", "error",
                                                          "--cache-ms", "20"], standardOutput: .pipe)
        self.process = process
        var seen = ""
        while !seen.contains("breakerd listening on") {
            let chunk = process.standardOutput.availableData
            guard !chunk.isEmpty else { throw CocoaError(.fileReadUnknown) }
            seen += String(decoding: chunk, as: UTF8.self)
        }
    }

    func kill() {
        guard let process else { return }
        process.send(SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }
}

extension BreakerClientTests {
    @Suite struct KilledProcess {
        @Test(.enabled(if: BreakerdProcess.executable != nil, "needs the built breakerd executable"))
        func sigkilledBreakerdIsSurvivedAndRejoinedOnTheSamePort() async throws {
            let directory = NSTemporaryDirectory() + "breaker-client-proc-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let daemon = BreakerdProcess(database: directory + "/breakerd.sqlite3", port: try await unusedPort())
            try daemon.start()
            let client = try await BreakerClient(configuration: testConfiguration(port: daemon.port, fallback: .local))
            try await withCleanup({
                let db = client.breaker("db")
                #expect(await eventually(within: patience) { client.statistics.isDaemonAvailable })
                for _ in 0..<100 { try await db.run {} }
                daemon.kill()
                // Calls go on, none slower than the decision timeout, decided by the fallback.
                var slowest = Duration.zero, fallbacks = 0
                for _ in 0..<200 {
                    let started = ContinuousClock.now
                    let attempt = try await db.attempt()
                    slowest = max(slowest, ContinuousClock.now - started)
                    if attempt.isFallback { fallbacks += 1 }
                    attempt.succeeded()
                    try await Task.sleep(for: .milliseconds(1))
                }
                #expect(fallbacks > 0)
                // Under testConfiguration's 3 s decision timeout: no call waited for it (the
                // margin is for a loaded CI machine, where a task can wait a second for a thread).
                #expect(slowest < .seconds(2), "slowest \(slowest)")
                try daemon.start()
                #expect(await eventually(within: patience) { client.statistics.isDaemonAvailable })
                #expect(try await eventually(within: patience) { try await !db.attempt().isFallback })
            }, cleanup: {
                await client.shutdown()
                daemon.kill()
            })
        }
    }
}
