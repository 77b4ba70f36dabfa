import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

extension ExecutableTests {
@Suite("breakerd configuration", .serialized)
struct ConfigFileTests {
    @Test func printConfigShowsEveryDefault() throws {
        let (status, stdout, stderr) = try runBreakerd(["--print-config", "--threads", "3"])
        #expect(status == 0, "\(stderr)")
        let config = try JSONParser.parse(stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        guard case .object(let root) = config else { Issue.record("not an object: \(stdout)"); return }
        #expect(root.fields.map(\.key) == [
            "host", "port", "db", "http_host", "http_port", "cache_ms", "synchronous", "max_line_length", "max_breakers", "max_connections", "max_in_flight", "idle_timeout_ms", "dedupe_window_ms", "max_dedupe_keys", "max_metric_series", "threads", "io",
            "log_level", "log_format", "admin_token_file", "shutdown_timeout_ms", "tls_cert", "tls_key", "tls_client_ca", "http_tls",
            "ui", "postgres_url", "postgres_password_file", "cluster", "advertise", "leader_lease", "default_breaker", "rules",
        ])
        #expect(config["host"] == .string("127.0.0.1"))
        #expect(config["port"] == .int(7420))
        #expect(config["db"] == .string("./data/breakerd.sqlite3"))
        #expect(config["http_host"] == .string("127.0.0.1"))
        #expect(config["http_port"] == .int(7421))
        #expect(config["cache_ms"] == .int(100))
        #expect(config["synchronous"] == .string("normal"))
        #expect(config["max_line_length"] == .int(65536))
        #expect(config["max_dedupe_keys"] == .int(500_000))
        #expect(config["threads"] == .int(3))
        #expect(config["io"] == .string("epoll"))
        #expect(config["log_level"] == .string("info"))
        #expect(config["log_format"] == .string("text"))
        #expect(config["admin_token_file"] == .null)
        #expect(config["shutdown_timeout_ms"] == .int(10000))
        #expect(config["tls_cert"] == .null)
        #expect(config["tls_client_ca"] == .null)
        #expect(config["http_tls"] == .bool(true))
        #expect(config["ui"] == .bool(true))
        #expect(config["postgres_url"] == .null)
        #expect(config["cluster"] == .string("default"))
        #expect(config["advertise"] == .null)
        #expect(config["leader_lease"] == .int(2000))
        #expect(config["default_breaker"]?["failure_threshold"] == .int(5))
        #expect(config["default_breaker"]?["timeout_ms"] == .int(60000))
        #expect(config["rules"] == .array([]))
    }

    @Test func postgresSettingsLayerFileThenEnvironmentThenFlagsAndNeverPrintThePassword() throws {
        let file = NSTemporaryDirectory() + "breakerd-pg-\(UUID().uuidString).json"
        try #"{"postgres_url":"postgres://file@db/breakers","leader_lease":"1500ms","cluster":"east"}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fromFile = try runBreakerd(["--print-config", "--config", file])
        #expect(try JSONParser.parse(fromFile.stdout)["postgres_url"] == .string("postgres://file@db/breakers"))
        #expect(try JSONParser.parse(fromFile.stdout)["leader_lease"] == .int(1500))
        #expect(try JSONParser.parse(fromFile.stdout)["cluster"] == .string("east"))
        // The environment beats the file; a password in it is masked when printed.
        let fromEnvironment = try runBreakerd(["--print-config", "--config", file],
                                              environment: ["BREAKERD_POSTGRES_URL": "postgres://env:hunter2@db/breakers,postgres://env@db2/breakers"])
        #expect(try JSONParser.parse(fromEnvironment.stdout)["postgres_url"]
                == .string("postgres://env:***@db/breakers,postgres://env@db2/breakers"))
        #expect(!fromEnvironment.stdout.contains("hunter2"))
        // The flag beats both; durations take units.
        let fromFlag = try runBreakerd(["--print-config", "--config", file, "--postgres-url", "postgres://flag@db/breakers",
                                        "--leader-lease", "3s"], environment: ["BREAKERD_POSTGRES_URL": "postgres://env@db/breakers"])
        #expect(try JSONParser.parse(fromFlag.stdout)["postgres_url"] == .string("postgres://flag@db/breakers"))
        #expect(try JSONParser.parse(fromFlag.stdout)["leader_lease"] == .int(3000))
        // Ranges and the wildcard rule are usage errors.
        let short = try runBreakerd(["--print-config", "--leader-lease", "100ms"])
        #expect(short.status == 64)
        #expect(short.stderr == "breakerd: --leader-lease must be 200ms...1m, got 100ms\n")
        let wildcard = try runBreakerd(["--print-config", "--host", "0.0.0.0", "--postgres-url", "postgres://u@db/breakers"])
        #expect(wildcard.status == 64)
        #expect(wildcard.stderr.contains("advertise is needed with postgres_url when host is 0.0.0.0"), "\(wildcard.stderr)")
    }

    @Test func noUIFlagAndUIKeyTurnTheStatusPageOff() throws {
        let (status, stdout, stderr) = try runBreakerd(["--print-config", "--no-ui"])
        #expect(status == 0, "\(stderr)")
        #expect(try JSONParser.parse(stdout)["ui"] == .bool(false))
        let file = NSTemporaryDirectory() + "breakerd-ui-\(UUID().uuidString).json"
        try #"{"ui":false}"#.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (fileStatus, fileStdout, fileStderr) = try runBreakerd(["--print-config", "--config", file])
        #expect(fileStatus == 0, "\(fileStderr)")
        #expect(try JSONParser.parse(fileStdout)["ui"] == .bool(false))
    }

    @Test func adminTokenFileIsCarriedThrough() throws {
        let (status, stdout, _) = try runBreakerd(["--print-config", "--admin-token-file", "/etc/breakerd/admin.token"])
        #expect(status == 0)
        #expect(try JSONParser.parse(stdout)["admin_token_file"] == .string("/etc/breakerd/admin.token"))
    }

    @Test func theFileBeatsDefaultsAndFlagsBeatTheFile() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/breakerd.json"
        try #"""
        {
          "port": 1, "http_port": 1, "cache_ms": 250, "max_line_length": 2048, "log_format": "json",
          "io": "nio",
          "default_breaker": {"failure_threshold": 7},
          "rules": [
            {"prefix": "kafka-topic-*", "preset": "message-broker"},
            {"prefix": "pg-", "preset": "database", "half_open_max_calls": 2},
            {"prefix": "ext-", "timeout_ms": 5000}
          ]
        }
        """#.write(toFile: file, atomically: true, encoding: .utf8)

        // The harness passes --port 0 --http-port 0 --db … --log-level error, and the test --cache-ms.
        let printed = try DaemonProcess(database: directory + "/db.sqlite3", arguments: ["--config", file, "--cache-ms", "300", "--print-config"]).runToCompletion()
        #expect(printed.status == 0, "\(printed.stderr)")
        let config = try JSONParser.parse(printed.stdout)
        #expect(config["port"] == .int(0))
        #expect(config["cache_ms"] == .int(300))
        #expect(config["max_line_length"] == .int(2048))
        #expect(config["log_format"] == .string("json"))
        #expect(config["io"] == .string("nio"), "and the daemon below serves its protocol through NIO")
        #expect(config["log_level"] == .string("error"))
        #expect(config["rules"]?.array?.first?["prefix"] == .string("kafka-topic-"))

        let daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: ["--config", file, "--cache-ms", "300"])
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        #expect(daemon.port != 1 && daemon.httpPort != 1)
        let c = try daemon.client()
        #expect(try c.request(#"{"op":"should-attempt","breaker":"any"}"#)["cache_ms"] == .int(300))
        func createdConfig(_ name: String) throws -> JSONValue? {
            try c.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#)
            return try c.request(#"{"op":"inspect","breaker":"\#(name)"}"#)["breaker"]?["config"]
        }
        let kafka = try createdConfig("kafka-topic-orders")
        #expect(kafka?["failure_threshold"] == .int(3))
        #expect(kafka?["success_threshold"] == .int(2))
        #expect(kafka?["timeout_ms"] == .int(20000))
        let pg = try createdConfig("pg-primary")
        #expect(pg?["timeout_ms"] == .int(30000))
        #expect(pg?["half_open_max_calls"] == .int(2))
        let ext = try createdConfig("ext-payments")
        #expect(ext?["failure_threshold"] == .int(7), "a rule without a preset starts from default_breaker")
        #expect(ext?["timeout_ms"] == .int(5000))
        #expect(try createdConfig("plain")?["failure_threshold"] == .int(7))
        // A configure of a new breaker patches the rule's config, not the built-in default.
        let configured = try c.request(#"{"op":"configure","breaker":"kafka-topic-new","config":{"timeout_ms":1000}}"#)
        #expect(configured["breaker"]?["config"]?["failure_threshold"] == .int(3))
        // max_line_length came from the file.
        try c.send(#"{"op":"ping","pad":""# + String(repeating: "x", count: 3000) + #""}"#)
        #expect(try c.readJSON()["error"]?["code"] == .string("line_too_long"))
    }

    @Test(arguments: [
        (#"{"bogus": 1}"#, "unknown key 'bogus'"),
        (#"{"port": "7420"}"#, "'port' must be an integer"),
        (#"{"port": 70000}"#, "port must be 0...65535"),
        (#"{"max_dedupe_keys": -1}"#, "max_dedupe_keys must not be negative"),
        (#"{"synchronous": "sometimes"}"#, "'synchronous' has an unknown value"),
        (#"{"io": "kqueue"}"#, "'io' has an unknown value"),
        (#"{"rules": [{"prefix": "a*b", "preset": "database"}]}"#, "rules[0].prefix"),
        (#"{"rules": [{"prefix": "a", "preset": "mainframe"}]}"#, "'rules[0].preset' has an unknown value"),
        (#"{"rules": [{"prefix": "a", "failure_threshold": 0}]}"#, "failure_threshold must be between"),
        (#"{"default_breaker": {"timeout": 5}}"#, "unknown key 'default_breaker.timeout'"),
        (#"{"port": 1, "port": 2}"#, "not valid JSON"),
        (#"{"port": 1,}"#, "not valid JSON"),
    ])
    func aBadConfigFileIsRefusedWithTheKeyNamed(content: String, message: String) throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/bad.json"
        try content.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, _, stderr) = try runBreakerd(["--config", file, "--db", directory + "/db.sqlite3"])
        #expect(status != 0)
        #expect(stderr.contains(message), "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/db.sqlite3"), "refused before opening anything")
    }

    @Test func aMissingConfigFileIsRefused() throws {
        let (status, _, stderr) = try runBreakerd(["--config", "/nonexistent/breakerd.json", "--print-config"])
        #expect(status != 0)
        #expect(stderr.contains("cannot read config file"))
    }

    @Test func theExampleConfigInDeployIsValid() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../deploy/breakerd.json").standardized.path
        let (status, stdout, stderr) = try runBreakerd(["--config", example, "--print-config"])
        #expect(status == 0, "\(stderr)")
        #expect(try JSONParser.parse(stdout)["rules"]?.array?.isEmpty == false)
    }
}
}

/// Runs the built executable with exactly `arguments`, to its exit; `environment` is added to
/// the test's own.
func runBreakerd(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    let inherited = ProcessInfo.processInfo.environment.filter { $0.key != "BREAKERD_POSTGRES_URL" }
    let output = try runProcess(DaemonProcess.executable, arguments, environment: inherited.merging(environment) { $1 })
    return (output.status, output.stdout, output.stderr)
}
