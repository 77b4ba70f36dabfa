import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// The built executable with its HTTP listener, over real sockets.
extension ExecutableTests {
@Suite("breakerd observability", .serialized)
struct ObservabilityProcessTests {
    @Test func metricsAfterKnownTrafficIncludeTheDaemonsOwn() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3")
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        let c = try daemon.client()
        try c.request(#"{"op":"record-failure","breaker":"orders","count":5}"#)  // opens it (default threshold 5)
        try c.request(#"{"op":"should-attempt","breaker":"orders"}"#)
        try c.request(#"{"op":"record-success","breaker":"orders"}"#)  // stale: counted, state unchanged
        try c.request(#"{"op":"inspect","breaker":"nobody"}"#)
        try c.request(#"{"op":"explode"}"#)
        // Errors of a line that names a known op are counted under that op, not as invalid.
        try c.request(#"{"op":"configure","breaker":"orders","config":{"failure_treshold":3}}"#)
        try c.request(#"{"op":"should-attempt","breaker":"bad name"}"#)
        try c.request(#"{"op":"record-failure","breaker":"orders","count":0}"#)
        try c.request(#"{"op":"ping","id":[1]}"#)
        try c.request(#"{"id":1,"op":17}"#)

        let text = try HTTPTestClient.get("/metrics", port: daemon.httpPort).text
        #expect(prometheusValue(text, #"circuit_breaker_state{name="orders"}"#) == 2)
        #expect(prometheusValue(text, #"circuit_breaker_calls_total{name="orders",result="failure"}"#) == 5)
        #expect(prometheusValue(text, #"circuit_breaker_calls_total{name="orders",result="success"}"#) == 1)
        #expect(prometheusValue(text, #"circuit_breaker_calls_total{name="orders",result="rejected"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="record-failure",code="ok"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="record-success",code="ok"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="inspect",code="not_found"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="invalid",code="unknown_op"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="configure",code="bad_request"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="should-attempt",code="invalid_name"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="record-failure",code="bad_request"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="ping",code="bad_request"}"#) == 1)
        #expect(prometheusValue(text, #"breakerd_requests_total{op="invalid",code="bad_request"}"#) == 1)
        #expect(prometheusValue(text, "breakerd_connections_open") == 1)
        #expect(prometheusValue(text, "breakerd_breakers") == 1)
        #expect((prometheusValue(text, "breakerd_database_size_bytes") ?? 0) > 4096)
        #expect((prometheusValue(text, "breakerd_store_commit_duration_seconds_count") ?? 0) >= 1)
        #expect((prometheusValue(text, "breakerd_store_batch_size_count") ?? 0) >= 1)
        #expect(prometheusValue(text, #"breakerd_store_batches_total{result="failed"}"#) == 0)
        #expect(text.contains("# HELP breakerd_requests_total "))
        // Exported from the start, with help text, though no record here carried a dedupe key.
        #expect(prometheusValue(text, "breakerd_dedupe_keys") == 0)
        #expect(prometheusValue(text, "breakerd_dedupe_keys_dropped_total") == 0)
        #expect(text.contains("# HELP breakerd_dedupe_keys_dropped_total Records whose dedupe key"))

        // No traffic in between: the same numbers, byte for byte.
        let again = try HTTPTestClient.get("/metrics", port: daemon.httpPort).text
        #expect(again == text)
    }

    @Test(.enabled(if: promtool != nil, "promtool not installed (apt-get install prometheus); .ci/run installs it"))
    func promtoolCheckMetricsIsCleanOnARealScrape() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3")
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        let c = try daemon.client()
        try c.request(#"{"op":"configure","breaker":"kafka-topic-a","config":{"failure_threshold":1,"timeout_ms":60000}}"#)
        try c.request(#"{"op":"record-failure","breaker":"kafka-topic-a"}"#)
        try c.request(#"{"op":"should-attempt","breaker":"kafka-topic-a"}"#)
        try c.request(#"{"op":"record-success","breaker":"payments/api:v2"}"#)
        try c.request("not json")
        let scrape = try HTTPTestClient.get("/metrics", port: daemon.httpPort).text

        let (status, output) = try run(promtool!, ["check", "metrics"], input: scrape)
        #expect(status == 0, "promtool check metrics:\n\(output)\n--- scrape ---\n\(scrape)")
    }

    @Test func healthEndpointsOfTheRunningDaemon() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3")
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        try daemon.client().request(#"{"op":"record-failure","breaker":"db","count":2}"#)
        let health = try HTTPTestClient.get("/health/circuit-breakers", port: daemon.httpPort)
        #expect(health.status == 200)
        let json = try JSONParser.parse(health.text.trimmingCharacters(in: .newlines))
        #expect(json["db"]?["failure_count"] == .int(2))
        #expect(json["db"]?["state"] == .string("closed"))
        #expect(try HTTPTestClient.get("/healthz", port: daemon.httpPort).status == 200)
        #expect(try HTTPTestClient.get("/readyz", port: daemon.httpPort).status == 200)
        #expect(try HTTPTestClient.get("/metricz", port: daemon.httpPort).status == 404)
        let post = try HTTPTestClient.get("/readyz", port: daemon.httpPort, method: "POST")
        #expect(post.status == 405)
        #expect(post.headers["allow"] == "GET, HEAD")
    }

    @Test func jsonLogsHaveOneLinePerTransitionAtWarningForOpen() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: ["--log-level", "info", "--log-format", "json"])
        try daemon.start()
        try daemon.client().request(#"{"op":"record-failure","breaker":"logged","count":5}"#)
        daemon.kill(SIGTERM)
        let lines = daemon.stderrText().split(separator: "\n").map(String.init)
        let parsed = lines.compactMap { try? JSONParser.parse($0) }
        #expect(parsed.count == lines.count, "every log line is JSON:\n\(lines.joined(separator: "\n"))")
        let started = parsed.first { $0["msg"] == .string("breakerd started") }
        #expect(started?["version"] != nil && started?["breakers"] != nil && started?["load_ms"] != nil)
        #expect(started?["io"] == .string("epoll"), "plain TCP on the daemon's own loops by default")
        #expect(started?["listen"]?.string?.hasSuffix(":\(daemon.port)") == true)
        #expect(started?["http"]?.string?.hasSuffix(":\(daemon.httpPort)") == true)
        let transitions = parsed.filter { $0["msg"] == .string("breaker transition") }
        #expect(transitions.count == 1)
        #expect(transitions.first?["level"] == .string("warning"))
        #expect(transitions.first?["breaker"] == .string("logged"))
        #expect(transitions.first?["to"] == .string("open"))
    }
}
}

/// promtool's path, if installed.
let promtool: String? = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// Runs a tool with `input` on stdin; returns its exit status and combined output.
func run(_ tool: String, _ arguments: [String], input: String = "") throws -> (Int32, String) {
    let process = try ChildProcess(tool, arguments, standardInput: .pipe, standardOutput: .pipe,
                                   standardError: .standardOutput)
    process.standardInput.write(Data(input.utf8))
    try process.standardInput.close()
    let output = process.standardOutput.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}
