import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

extension ExecutableTests {
@Suite("breakerd graceful shutdown", .serialized)
struct GracefulShutdownTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalMidTrafficExitsZeroWithEveryAcknowledgedChangeOnDisk(signal: Int32) throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/breakerd.sqlite3"
        let daemon = DaemonProcess(database: database, arguments: ["--shutdown-timeout-ms", "5000"])
        try daemon.start()
        let writers = 4
        // Paced, not flat out: the in-process async tests share these 2 cores, and the point is
        // traffic in flight when the signal lands, not throughput.
        let traffic = TrafficWriters(port: daemon.port, writers: writers, round: .init(
            breakerPrefix: "term-", length: 8, failures: 2, failureCount: 3, timeoutBase: 1000, pauseEvery: 4))
        usleep(UInt32.random(in: 200_000...500_000))
        let signalled = Date()
        daemon.kill(signal)
        let took = Date().timeIntervalSince(signalled)
        traffic.wait()
        let acks = traffic.acks
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
