import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// The settings table (Sources/breakerd/DaemonSettings.swift) drives the flags, the config file,
/// `--print-config`, `--help` and README's flag table: these run the real executable.
extension ExecutableTests {
@Suite("breakerd settings table", .serialized)
struct SettingsTableTests {
    @Test func readmeHasTheFlagTableTheExecutablePrints() throws {
        let (status, table, stderr) = try runBreakerd(["--print-settings-markdown"])
        #expect(status == 0, "\(stderr)")
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../README.md").standardized.path
        let text = try String(contentsOfFile: readme, encoding: .utf8)
        #expect(text.contains("\n" + table), "README's flag table differs from `breakerd --print-settings-markdown`:\n\(table)")
    }

    @Test func helpListsEverySettingAndTheDefaults() throws {
        let (status, help, _) = try runBreakerd(["--help"])
        #expect(status == 0)
        let (_, printed, _) = try runBreakerd(["--print-config"])
        guard case .object(let config) = try JSONParser.parse(printed) else { Issue.record("not an object"); return }
        for key in config.fields.map(\.key) where key != "default_breaker" && key != "rules" {
            #expect(help.contains("--" + key.replacingOccurrences(of: "_", with: "-")), "\(key) missing from --help")
        }
        #expect(help.contains("--max-in-flight <max-in-flight>"))
        #expect(help.contains("(1–1000000; default: 1024)"))
        #expect(help.contains("--http-tls/--no-http-tls"))
        #expect(help.hasPrefix("OVERVIEW: "))
    }

    @Test func printedConfigIsAConfigFileThatPrintsTheSame() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let flags = ["--host", "::1", "--port=7500", "--db", "/tmp/x.sqlite3", "--http-host", "0.0.0.0", "--http-port", "0",
                     "--cache-ms", "7", "--synchronous", "full", "--max-line-length", "2048", "--max-breakers", "3",
                     "--max-connections", "4", "--max-in-flight", "5", "--idle-timeout-ms", "0", "--dedupe-window-ms", "9",
                     "--max-dedupe-keys", "0", "--max-metric-series", "11", "--threads", "2", "--io", "nio",
                     "--log-level", "debug", "--log-format", "json", "--admin-token-file", "/etc/t",
                     "--shutdown-timeout-ms", "0", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca", "ca.pem",
                     "--http-tls", "--no-http-tls"]
        let first = try runBreakerd(flags + ["--print-config"])
        #expect(first.status == 0, "\(first.stderr)")
        let config = try JSONParser.parse(first.stdout)
        #expect(config["port"] == .int(7500))
        #expect(config["idle_timeout_ms"] == .int(0))
        #expect(config["http_tls"] == .bool(false), "the last of --http-tls and --no-http-tls wins")
        #expect(config["tls_client_ca"] == .string("ca.pem"))
        try first.stdout.write(toFile: directory + "/printed.json", atomically: true, encoding: .utf8)
        let second = try runBreakerd(["--config", directory + "/printed.json", "--print-config"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout == first.stdout)
    }

    @Test(arguments: [
        (["--bogus"], "Error: Unknown option '--bogus'"),
        (["--port"], "Error: Missing value for '--port <port>'"),
        (["--port", "--db", "x"], "Error: Missing value for '--port <port>'"),
        (["--port", "seven"], "Error: The value 'seven' is invalid for '--port <port>'"),
        (["--io", "kqueue"], "Error: The value 'kqueue' is invalid for '--io <io>': one of epoll, nio"),
        (["--http-tls=yes"], "Error: '--http-tls' takes no value"),
        (["--print-config=yes"], "Error: '--print-config' takes no value"),
        (["--max-in-flight", "0"], "breakerd: --max-in-flight must be 1...1000000, got 0"),
        (["--max-dedupe-keys", "-1"], "breakerd: --max-dedupe-keys must not be negative (0 turns dedupe off), got -1"),
        (["--port=70000"], "breakerd: --port must be 0...65535, got 70000"),
        (["--db", ""], "breakerd: --db must not be empty"),
        (["--tls-cert", "c.pem"], "breakerd: tls_cert and tls_key go together"),
    ])
    func aBadFlagIsRefusedWithTheFlagNamed(arguments: [String], message: String) throws {
        let (status, stdout, stderr) = try runBreakerd(arguments + ["--print-config"])
        #expect(status == 64)
        #expect(stdout.isEmpty)
        #expect(stderr.contains(message), "\(stderr)")
    }

    @Test(arguments: [
        (#"{"max_in_flight": 0}"#, "breakerd: max_in_flight must be 1...1000000, got 0"),
        (#"{"max_in_flight": 1.5}"#, "'max_in_flight' must be an integer"),
        (#"{"http_tls": 1}"#, "'http_tls' must be true or false"),
        (#"{"tls_cert": 5}"#, "'tls_cert' must be a string or null"),
        (#"{"log_level": "loud"}"#, "'log_level' has an unknown value 'loud' (one of trace, debug, info, notice, warning, error, critical)"),
        (#"{"max_inflight": 8}"#, "unknown key 'max_inflight'; known keys: host, port,"),
    ])
    func aBadFileValueIsRefusedWithTheKeyNamed(content: String, message: String) throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try content.write(toFile: directory + "/bad.json", atomically: true, encoding: .utf8)
        let (status, _, stderr) = try runBreakerd(["--config", directory + "/bad.json", "--print-config"])
        #expect(status == 64)
        #expect(stderr.contains(message), "\(stderr)")
    }

    @Test func aFlagOverridesABadFileValue() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #"{"max_in_flight": 0}"#.write(toFile: directory + "/file.json", atomically: true, encoding: .utf8)
        let (status, stdout, stderr) = try runBreakerd(["--config", directory + "/file.json", "--max-in-flight", "8", "--print-config"])
        #expect(status == 0, "\(stderr)")
        #expect(try JSONParser.parse(stdout)["max_in_flight"] == .int(8), "ranges are checked once every layer is applied")
    }
}
}
