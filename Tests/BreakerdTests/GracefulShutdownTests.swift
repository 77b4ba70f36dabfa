import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

extension ExecutableTests {
@Suite("breakerd graceful shutdown", .serialized)
struct GracefulShutdownTests {
    /// What one connection saw acknowledged before the daemon stopped.
    final class Acks: @unchecked Sendable {
        // Safe: each instance is written by exactly one thread, and read after that thread is joined.
        var successes = 0
        var failures = 0
        var configuredTimeout: Int64?
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalMidTrafficExitsZeroWithEveryAcknowledgedChangeOnDisk(signal: Int32) throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/breakerd.sqlite3"
        let daemon = DaemonProcess(database: database, arguments: ["--shutdown-timeout-ms", "5000"])
        try daemon.start()
        let writers = 4
        let acks = (0..<writers).map { _ in Acks() }
        let group = DispatchGroup()
        let port = daemon.port
        for w in 0..<writers {
            group.enter()
            Thread {
                defer { group.leave() }
                guard let c = try? LineClient(port: port) else { return }
                var i = 0
                while true {
                    // Paced, not flat out: the in-process async tests share these 2 cores, and
                    // the point is traffic in flight when the signal lands, not throughput.
                    if i % 4 == 3 { usleep(1000) }
                    let line: String
                    switch i % 8 {
                    case 0: line = #"{"op":"configure","breaker":"term-\#(w)","config":{"timeout_ms":\#(1000 + i),"failure_threshold":1000000}}"#
                    case 1, 2: line = #"{"op":"record-failure","breaker":"term-\#(w)","count":3}"#
                    case 3: line = #"{"op":"should-attempt","breaker":"term-\#(w)"}"#
                    default: line = #"{"op":"record-success","breaker":"term-\#(w)"}"#
                    }
                    guard let reply = try? c.request(line), reply["ok"] == .bool(true) else { return }
                    switch i % 8 {
                    case 0: acks[w].configuredTimeout = Int64(1000 + i)
                    case 1, 2: acks[w].failures += 3
                    case 3: break
                    default: acks[w].successes += 1
                    }
                    i += 1
                }
            }.start()
        }
        usleep(UInt32.random(in: 200_000...500_000))
        let signalled = Date()
        daemon.kill(signal)
        let took = Date().timeIntervalSince(signalled)
        group.wait()
        #expect(daemon.process.terminationStatus == 0)
        #expect(daemon.process.terminationReason == .exit)
        #expect(took < 5, "shutdown took \(took) s")
        #expect(acks.allSatisfy { $0.successes + $0.failures > 0 }, "traffic was flowing when the signal came")

        let restarted = DaemonProcess(database: database)
        try restarted.start()
        defer { restarted.kill(SIGTERM) }
        let c = try restarted.client()
        for w in 0..<writers {
            let breaker = try #require(try c.request(#"{"op":"inspect","breaker":"term-\#(w)"}"#)["breaker"])
            let metrics = breaker["metrics"]
            // A graceful stop answers every request it executed before closing, so what is on disk
            // is exactly what was acknowledged: nothing lost, nothing executed unacknowledged.
            #expect(metrics?["successful_calls"]?.int == Int64(acks[w].successes), "writer \(w)")
            #expect(metrics?["failed_calls"]?.int == Int64(acks[w].failures), "writer \(w)")
            #expect(breaker["config"]?["timeout_ms"]?.int == acks[w].configuredTimeout, "writer \(w)")
        }
    }

    @Test func anIdleConnectionAndAWatcherDoNotHoldUpTheExit() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3")
        try daemon.start()
        let idle = try daemon.client()
        let watcher = try daemon.client()
        try watcher.request(#"{"op":"watch"}"#)
        let http = try HTTPTestClient(port: daemon.httpPort)
        try http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try http.readResponse()
        let signalled = Date()
        daemon.kill(SIGTERM)
        #expect(daemon.process.terminationStatus == 0)
        #expect(Date().timeIntervalSince(signalled) < 3)
        #expect(idle.isClosedByPeer())
        #expect(watcher.isClosedByPeer())
        #expect(http.isClosedByPeer())
    }
}
}
