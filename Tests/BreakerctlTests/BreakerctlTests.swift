import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("breakerctl against a real daemon", .serialized)
struct BreakerctlTests {
    @Test func pingReportsVersionAndAddress() throws {
        let d = try AdminDaemon()
        let result = try breakerctl(["ping"], port: d.port)
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("breakerd 0.1.0 at 127.0.0.1:\(d.port) answered in "))
        let json = try breakerctl(["ping", "--json"], port: d.port)
        #expect(try JSONParser.parse(json.stdout.trimmingCharacters(in: .newlines)) == .object(JSONObject([("ok", .bool(true)), ("version", .string("0.1.0"))])))
    }

    @Test func listPrintsAnAlignedTableWithoutColourWhenPiped() throws {
        let d = try AdminDaemon()
        let c = try d.daemon.client()
        try c.request(#"{"op":"record-failure","breaker":"orders-db","count":5}"#)
        try c.request(#"{"op":"should-attempt","breaker":"orders-db"}"#)
        try c.request(#"{"op":"record-success","breaker":"kafka-topic-a","count":3}"#)
        let result = try breakerctl(["list"], port: d.port)
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == "NAME           STATE   FAILURES  CALLS  REJECTED  LAST CHANGE")
        #expect(lines[1].hasPrefix("kafka-topic-a  closed  0         3      0         "))
        #expect(lines[2].hasPrefix("orders-db      open    5         5      1         "))
        #expect(!result.stdout.contains("\u{1B}["))
        let open = try breakerctl(["list", "--state", "open", "--json"], port: d.port)
        let breakers = try JSONParser.parse(open.stdout.trimmingCharacters(in: .newlines))["breakers"]?.array
        #expect(breakers?.map { $0["name"] } == [.string("orders-db")])
        let prefixed = try breakerctl(["--no-color", "list", "--prefix", "kafka-"], port: d.port)
        #expect(prefixed.stdout.split(separator: "\n").count == 2)
    }

    @Test func inspectShowsEveryField() throws {
        let d = try AdminDaemon()
        try d.daemon.client().request(#"{"op":"record-failure","breaker":"db","count":5}"#)
        let result = try breakerctl(["inspect", "db"], port: d.port)
        #expect(result.status == 0)
        for needle in ["name:                db", "state:               open", "open until:", "left)", "generation:          2",
                       "failure count:       5", "failure threshold:        5", "timeout:                  1m",
                       "failed calls:             5", "closed_to_open:           1", "last failure:"] {
            #expect(result.stdout.contains(needle), "missing \(needle)")
        }
    }

    @Test func changesNeedTheRightToken() throws {
        let d = try AdminDaemon()
        let without = try breakerctl(["configure", "db", "--failure-threshold", "3"], port: d.port)
        #expect(without.status == 1)
        #expect(without.stderr.contains("error: unauthorized:"))
        let wrong = try breakerctl(["reset", "db"], port: d.port, token: "not-the-token-at-all")
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("unauthorized"))
        #expect(try d.daemon.client().request(#"{"op":"inspect","breaker":"db"}"#)["error"]?["code"] == .string("not_found"))
        let right = try breakerctl(["configure", "db", "--preset", "message-broker", "--timeout", "45s", "--json"], port: d.port, token: AdminDaemon.token)
        #expect(right.status == 0)
        let config = try JSONParser.parse(right.stdout.trimmingCharacters(in: .newlines))["breaker"]?["config"]
        #expect(config?["failure_threshold"] == .int(3))
        #expect(config?["success_threshold"] == .int(2))
        #expect(config?["timeout_ms"] == .int(45_000))
        // A token file works too, and reads stay open without any token.
        let file = d.directory + "/alice.token"
        try (AdminDaemon.token + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try breakerctl(["reset", "db", "--token-file", file], port: d.port).status == 0)
        #expect(try breakerctl(["inspect", "db"], port: d.port).status == 0)
    }

    @Test func forceOpenRejectsEverythingSurvivesARestartAndIsReleased() throws {
        let d = try AdminDaemon()
        let forced = try breakerctl(["force-open", "payments", "--reason", "provider maintenance"], port: d.port, token: AdminDaemon.token)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("forced by:           alice"))
        #expect(try d.daemon.client().request(#"{"op":"should-attempt","breaker":"payments"}"#)["allow"] == .bool(false))
        let again = try d.restart()
        defer { again.kill(SIGTERM) }
        let c = try again.client()
        let decision = try c.request(#"{"op":"should-attempt","breaker":"payments"}"#)
        #expect(decision["allow"] == .bool(false))
        #expect(decision["state"] == .string("forced_open"))
        let inspect = try c.request(#"{"op":"inspect","breaker":"payments"}"#)["breaker"]?["forced"]
        #expect(inspect?["reason"] == .string("provider maintenance"))
        #expect(inspect?["by"] == .string("alice"))
        let released = try breakerctl(["release", "payments"], port: again.port, token: AdminDaemon.token)
        #expect(released.status == 0)
        #expect(try c.request(#"{"op":"should-attempt","breaker":"payments"}"#)["allow"] == .bool(true))
        let history = try breakerctl(["history", "payments", "--json"], port: again.port)
        let entries = try JSONParser.parse(history.stdout.trimmingCharacters(in: .newlines))["transitions"]?.array ?? []
        #expect(entries.map { $0["reason"] } == [.string("released"), .string("forced_open")])
        #expect(entries.last?["actor"] == .string("alice"))
        #expect(entries.last?["note"] == .string("provider maintenance"))
    }

    @Test func exitCodesSeparateDaemonErrorsUsageAndUnreachable() throws {
        let d = try AdminDaemon()
        let notFound = try breakerctl(["inspect", "missing"], port: d.port)
        #expect(notFound.status == 1)
        #expect(notFound.stderr == "error: not_found: no breaker named 'missing'\n")
        #expect(try breakerctl(["list", "--state", "sideways"], port: d.port).status == 2)
        #expect(try breakerctl(["configure", "db"], port: d.port).status == 2)
        #expect(try breakerctl(["configure", "db", "--timeout", "soon"], port: d.port).status == 2)
        #expect(try breakerctl(["frobnicate"], port: d.port).status == 2)
        let unreachable = try breakerctl(["ping", "--port", "1", "--timeout", "1s"], port: nil)
        #expect(unreachable.status == 3)
        #expect(unreachable.stderr.contains("cannot reach breakerd at 127.0.0.1:1"))
        let viaEnv = try breakerctl(["ping"], port: nil, environment: ["BREAKERD_ADDR": "127.0.0.1:1"])
        #expect(viaEnv.status == 3)
        #expect(try breakerctl(["--host", "127.0.0.1", "--port", String(d.port), "ping"], port: nil).status == 0)
    }

    @Test func aListInBreakerdAddrIsTriedInOrderUntilADaemonAnswers() throws {
        let d = try AdminDaemon()
        let list = try breakerctl(["inspect", "missing"], port: nil, environment: ["BREAKERD_ADDR": "127.0.0.1:1, 127.0.0.1:\(d.port)"])
        #expect(list.status == 1, "the second address answered (not_found), the first was skipped")
        #expect(list.stderr == "error: not_found: no breaker named 'missing'\n")
    }

    @Test func watchStreamsTransitionsAsTheyHappen() throws {
        let d = try AdminDaemon(tokens: false)
        let process = try ChildProcess(DaemonProcess.executable(named: "breakerctl"),
                                       ["watch", "--prefix", "w-", "--port", String(d.port)],
                                       standardOutput: .pipe, standardError: .pipe)
        defer { process.terminate(); process.waitUntilExit() }
        // breakerctl says "watching …" on stderr once the daemon has acknowledged the watch.
        let banner = String(decoding: process.standardError.availableData, as: UTF8.self)
        #expect(banner.hasPrefix("watching 127.0.0.1:\(d.port) for w-*"))
        let c = try d.daemon.client()
        try c.request(#"{"op":"record-failure","breaker":"other","count":5}"#)
        try c.request(#"{"op":"record-failure","breaker":"w-1","count":5}"#)
        try c.request(#"{"op":"reset","breaker":"w-1"}"#)
        // A watchdog: if the events never come, end breakerctl so the read below sees EOF.
        DispatchQueue.global().asyncAfter(deadline: .now() + 10) { process.terminate() }
        var seen = ""
        while seen.split(separator: "\n").count < 2 {
            let chunk = process.standardOutput.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        try #require(seen.split(separator: "\n").count >= 2, "events seen: \(seen)")
        let lines = seen.split(separator: "\n").map(String.init)
        #expect(lines[0].contains("  w-1  closed -> open  (failure_threshold, generation 2)"))
        #expect(lines[1].contains("  w-1  open -> closed  (reset, generation 3)"))
        #expect(!seen.contains("other"))
    }
}
