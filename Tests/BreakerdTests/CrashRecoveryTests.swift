import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

extension ExecutableTests {
@Suite("The breakerd executable", .serialized)
struct CrashRecoveryTests {
    @Test func sigkillMidTrafficLosesNothingAcknowledged() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/breakerd.sqlite3"
        let writers = 4
        var total = (0..<writers).map { _ in (successes: 0, failures: 0) }
        var lastTimeout = [Int64?](repeating: nil, count: writers)
        var pendingTimeout = [Int64?](repeating: nil, count: writers)

        for cycle in 0..<3 {
            let daemon = DaemonProcess(database: database)
            try daemon.start()
            let traffic = TrafficWriters(port: daemon.port, writers: writers, round: .init(
                breakerPrefix: "crash-", length: 10, failures: 3, timeoutBase: 1000 + cycle * 1000))
            usleep(UInt32.random(in: 200_000...600_000))
            daemon.kill(SIGKILL)
            traffic.wait()
            let acks = traffic.acks
            print("cycle \(cycle): records acknowledged per connection before SIGKILL: \(acks.map { $0.successes + $0.failures })")
            for w in 0..<writers {
                total[w].successes += acks[w].successes
                total[w].failures += acks[w].failures
                if let t = acks[w].configuredTimeout { lastTimeout[w] = t }
                pendingTimeout[w] = acks[w].pendingTimeout
            }

            let restarted = DaemonProcess(database: database)
            try restarted.start()
            let c = try restarted.client()
            for w in 0..<writers {
                guard let breaker = try c.request(#"{"op":"inspect","breaker":"crash-\#(w)"}"#)["breaker"] else {
                    // Never created: then nothing may have been acknowledged for it.
                    #expect(total[w].successes + total[w].failures == 0 && lastTimeout[w] == nil, "cycle \(cycle) writer \(w)")
                    continue
                }
                let metrics = breaker["metrics"]
                #expect((metrics?["successful_calls"]?.int ?? -1) >= Int64(total[w].successes), "cycle \(cycle) writer \(w)")
                #expect((metrics?["failed_calls"]?.int ?? -1) >= Int64(total[w].failures), "cycle \(cycle) writer \(w)")
                // Counts may exceed what was acknowledged (committed, then killed before the reply)
                // but never by more than the requests that were in flight.
                #expect((metrics?["total_calls"]?.int ?? 0) <= Int64(total[w].successes + total[w].failures + 1))
                if let t = lastTimeout[w] {
                    let stored = breaker["config"]?["timeout_ms"]?.int ?? 0
                    #expect(stored == t || stored == pendingTimeout[w], "configure acknowledged as \(t), found \(stored)")
                    lastTimeout[w] = stored
                }
                total[w] = (Int(metrics?["successful_calls"]?.int ?? 0), Int(metrics?["failed_calls"]?.int ?? 0))
            }
            restarted.kill(SIGTERM)
            #expect(restarted.process.terminationStatus == 0)
        }
    }

    @Test func sigtermExitsCleanlyAfterCommitting() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3")
        try daemon.start()
        let c = try daemon.client()
        try c.request(#"{"op":"record-failure","breaker":"term","count":4}"#)
        daemon.kill(SIGTERM)
        #expect(daemon.process.terminationStatus == 0)
        let again = DaemonProcess(database: directory + "/db.sqlite3")
        try again.start()
        #expect(try again.client().request(#"{"op":"inspect","breaker":"term"}"#)["breaker"]?["failure_count"] == .int(4))
        again.kill(SIGTERM)
    }

    @Test func aSecondDaemonOnTheSameFileRefusesToStart() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = DaemonProcess(database: directory + "/db.sqlite3")
        try first.start()
        let (status, stderr) = try DaemonProcess(database: directory + "/db.sqlite3").runToExit()
        #expect(status != 0)
        #expect(stderr.contains("in use"), "\(stderr)")
        #expect(try first.client().request(#"{"op":"ping"}"#)["ok"] == .bool(true))
        first.kill(SIGTERM)
    }

    @Test func aFileThatIsNotADatabaseIsNeverOverwritten() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/garbage.sqlite3"
        let garbage = Data((0..<8192).map { _ in UInt8.random(in: 0...255) })
        try garbage.write(to: URL(fileURLWithPath: path))
        let (status, stderr) = try DaemonProcess(database: path).runToExit()
        #expect(status != 0)
        #expect(!stderr.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
    }

    @Test func theDatabaseFileIsCreatedWithMode0600() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/nested/folder/db.sqlite3"
        let daemon = DaemonProcess(database: path)
        try daemon.start()
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        daemon.kill(SIGTERM)
    }
}
}
