import BreakerTestSupport
import BreakerWire
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Slow and greedy clients against the breakerd executable: the daemon's memory stays bounded
/// and everyone else keeps getting fast answers. Figures are printed for RELIABILITY.md.
extension ExecutableTests {
@Suite("Slow clients, pipelining hogs and many connections")
struct SlowClientTests {
    /// A number threads can share.
    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func store(_ v: Int) { value.store(v, ordering: .relaxed) }
        func add(_ v: Int) { value.add(v, ordering: .relaxed) }
        func load() -> Int { value.load(ordering: .relaxed) }
    }

    /// Resident memory of `pid` in KiB, from /proc.
    /// The latency promise, 10 ms at the 99th percentile, holds when these tests have the
    /// machine to themselves: `.ci/run` runs them so with BREAKERD_LOAD_TESTS=1. Inside the whole
    /// `swift test`, other suites run in parallel on the same two cores and the probe measures
    /// them too, so there only a sanity bound (100 ms) applies.
    static let p99Limit = ProcessInfo.processInfo.environment["BREAKERD_LOAD_TESTS"] == "1" ? 10_000 : 100_000

    static func rssKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }

    /// `count` pings on `client`, one at a time; returns the sorted round trips in microseconds.
    static func pingLatencies(_ client: LineClient, count: Int, pause: useconds_t = 2_000) throws -> [Int] {
        var latencies: [Int] = []
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            let reply = try client.request(#"{"op":"should-attempt","breaker":"probe"}"#)
            latencies.append(Int((DispatchTime.now().uptimeNanoseconds - start) / 1000))
            guard reply["ok"] == .bool(true) else { throw LineClient.Failure(description: "probe failed: \(reply)") }
            usleep(pause)
        }
        return latencies.sorted()
    }

    static func summary(_ sorted: [Int]) -> String {
        "p50 \(sorted[sorted.count / 2]) µs, p99 \(sorted[sorted.count * 99 / 100]) µs, max \(sorted.last!) µs"
    }

    @Test func aClientPipelining100kRequestsWithoutReadingCannotGrowTheDaemon() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3")
        try daemon.start()
        let pid = daemon.process.processIdentifier
        let probe = try daemon.client()
        _ = try Self.pingLatencies(probe, count: 50, pause: 0)  // warm up
        let baseline = Self.rssKiB(pid)

        let hogClient = try daemon.client()
        let hog = hogClient.sender
        let requests = 100_000
        let batch: [UInt8] = (0..<requests).flatMap { i in
            Array(#"{"op":"record-failure","breaker":"hog-\#(i % 100)","id":\#(i)}"#.utf8) + [10]
        }
        let sent = Counter()
        /// When the send in progress began (uptime ns), 0 between sends.
        let sendingSince = Counter()
        let sender = Thread {
            // Blocks once the daemon stops reading; `abort()` below ends it.
            var offset = 0
            while offset < batch.count {
                let end = min(offset + 65_536, batch.count)
                sendingSince.store(Int(DispatchTime.now().uptimeNanoseconds))
                guard (try? hog.send(Array(batch[offset..<end]))) != nil else { return }
                sendingSince.store(0)
                offset = end
                sent.store(offset)
            }
        }
        sender.start()
        // The hog has filled every buffer there is once the daemon stops reading it: its send
        // has been blocked for a while (checked, not assumed after a fixed sleep).
        let filled = Date().addingTimeInterval(30)
        while Date() < filled {
            let since = sendingSince.load()
            if since > 0, Int(DispatchTime.now().uptimeNanoseconds) - since > 200_000_000 { break }
            usleep(10_000)
        }
        #expect(sent.load() < batch.count, "the daemon read the whole hog without pausing it")
        var peak = Self.rssKiB(pid)
        var latencies: [Int] = []
        for _ in 0..<4 {
            latencies += try Self.pingLatencies(probe, count: 50)
            peak = max(peak, Self.rssKiB(pid))
        }
        latencies.sort()
        let sentBytes = sent.load()
        let processed = try probe.request(#"{"op":"list","prefix":"hog-"}"#)["breakers"]?.array?
            .reduce(0) { $0 + ($1["metrics"]?["failed_calls"]?.int ?? 0) } ?? 0
        print("pipelining hog: sent \(sentBytes) of \(batch.count) bytes without reading, daemon processed \(processed) of \(requests) (the rest wait in kernel buffers); daemon RSS \(baseline / 1024) MiB before, peak \(peak / 1024) MiB during; other client: \(Self.summary(latencies))")
        hog.abort()
        // The bound: 32 MiB above the idle daemon. (Measured: +2 MiB. The replies the daemon
        // has written sit in the kernel's socket buffers, not in the daemon; what it holds itself
        // is at most --max-in-flight replies and one 256 KiB write high-water mark.)
        #expect(peak - baseline < 32 * 1024, "RSS grew from \(baseline) KiB to \(peak) KiB")
        #expect(latencies[latencies.count * 99 / 100] < Self.p99Limit, "p99 latency under a hog: \(Self.summary(latencies))")
        #expect(try daemon.client().request(#"{"op":"ping"}"#)["ok"] == .bool(true))
        daemon.kill(SIGTERM)
        #expect(daemon.process.terminationStatus == 0)
    }

    @Test func slowlorisClientsAreServedWhileTheyTrickleAndClosedWhenTheyStall() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: ["--idle-timeout-ms", "1500"])
        try daemon.start()
        let port = daemon.port
        let probe = try daemon.client()
        _ = try Self.pingLatencies(probe, count: 20, pause: 0)  // warm up: the first request creates "probe"
        let line = Array(#"{"op":"should-attempt","breaker":"slow"}"#.utf8) + [10]
        // 50 trickling connections: one byte every 100 ms each, so a line takes ~4 s.
        let answered = Counter()
        let group = DispatchGroup()
        for _ in 0..<50 {
            group.enter()
            Thread {
                defer { group.leave() }
                guard let client = try? LineClient(port: port) else { return }
                for byte in line {
                    guard (try? client.sendRaw([byte])) != nil else { return }
                    usleep(100_000)
                }
                if (try? client.readJSON())?["allow"] == .bool(true) { answered.add(1) }
            }.start()
        }
        // Stallers: half a line, then silence longer than the idle timeout.
        let stallers = try (0..<20).map { _ in try LineClient(port: port, timeoutSeconds: 5) }
        for client in stallers { try client.sendRaw(Array(line[0..<10])) }
        var slow: [String] = []
        var latencies: [Int] = []
        for i in 0..<200 {
            let one = try Self.pingLatencies(probe, count: 1, pause: 15_000)[0]
            if one > 5_000 { slow.append("#\(i): \(one) µs") }
            latencies.append(one)
        }
        latencies.sort()
        print("slowloris: slow pings \(slow)")
        group.wait()
        let closed = stallers.filter { $0.isClosedByPeer() }.count
        print("slowloris: \(answered.load())/50 byte-by-byte clients answered, \(closed)/20 stalled clients closed by the idle timeout; other client: \(Self.summary(latencies))")
        #expect(answered.load() == 50)
        #expect(closed == 20)
        #expect(latencies[latencies.count * 99 / 100] < Self.p99Limit, Comment(rawValue: Self.summary(latencies)))
        daemon.kill(SIGTERM)
    }

    @Test func theLimitFlagsReachTheServer() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: [
            "--max-breakers", "2", "--max-connections", "2", "--max-in-flight", "8", "--idle-timeout-ms", "60000",
        ])
        try daemon.start()
        let c = try daemon.client()
        _ = try c.request(#"{"op":"should-attempt","breaker":"one"}"#)
        _ = try c.request(#"{"op":"should-attempt","breaker":"two"}"#)
        #expect(try c.request(#"{"op":"should-attempt","breaker":"three"}"#)["error"]?["code"] == .string("overloaded"))
        #expect(try c.request(#"{"op":"record-failure","breaker":"one"}"#)["ok"] == .bool(true))
        let second = try daemon.client()
        #expect(try second.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
        let third = try daemon.client()
        #expect(try third.readJSON()["error"]?["code"] == .string("overloaded"))
        daemon.kill(SIGTERM)
    }

    @Test func theDedupeKeyLimitFlagReachesTheServer() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: ["--max-dedupe-keys", "2"])
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        let c = try daemon.client()
        for key in ["a", "b", "c", "c", "a"] {
            #expect(try c.request(#"{"op":"record-success","breaker":"d","dedupe":"\#(key)"}"#)["ok"] == .bool(true))
        }
        // a and b remembered; c not (twice), so counted twice; a's retry not counted.
        #expect(try c.request(#"{"op":"inspect","breaker":"d"}"#)["breaker"]?["metrics"]?["successful_calls"] == .int(4))
        let text = try HTTPTestClient.get("/metrics", port: daemon.httpPort).text
        #expect(prometheusValue(text, "breakerd_dedupe_keys") == 2)
        #expect(prometheusValue(text, "breakerd_dedupe_keys_dropped_total") == 2)
    }

    @Test func fiveThousandConcurrentConnections() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 12_000 {
            limit.rlim_cur = min(limit.rlim_max, 12_000)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3")
        try daemon.start()
        let start = Date()
        var clients: [LineClient] = []
        for _ in 0..<5_000 { clients.append(try LineClient(port: daemon.port)) }
        // Every connection asks at once (all lines out first), then every answer is read.
        for (i, client) in clients.enumerated() { try client.send(#"{"op":"should-attempt","breaker":"conn-\#(i % 50)","id":\#(i)}"#) }
        var answered = 0
        for (i, client) in clients.enumerated() where try client.readJSON()["id"] == .int(Int64(i)) { answered += 1 }
        // And all are still open: a second round on each.
        for client in clients { try client.send(#"{"op":"ping"}"#) }
        for client in clients where try client.readJSON()["ok"] == .bool(true) { answered += 1 }
        let rss = Self.rssKiB(daemon.process.processIdentifier)
        print("5000 connections: \(answered)/10000 requests answered in \(Int(Date().timeIntervalSince(start) * 1000)) ms; daemon RSS \(rss / 1024) MiB")
        #expect(answered == 10_000)
        clients.removeAll()
        daemon.kill(SIGTERM)
    }
}
}
