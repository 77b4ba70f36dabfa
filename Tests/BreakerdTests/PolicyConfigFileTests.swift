import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

extension ExecutableTests {
@Suite("breakerd configuration: trip policies", .serialized)
struct PolicyConfigFileTests {
    @Test func rulesTakePolicyFieldsAndRatePresets() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/breakerd.json"
        try #"""
        {
          "default_breaker": {"policy": "rate", "window": {"kind": "count", "size": 40}, "minimum_calls": 10},
          "rules": [
            {"prefix": "ext-", "preset": "external-api-rate", "min_reporters": 2},
            {"prefix": "shadow-", "mode": "metrics_only", "slow_call_duration_ms": 1500}
          ]
        }
        """#.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, stdout, stderr) = try runBreakerd(["--config", file, "--print-config"])
        #expect(status == 0, "\(stderr)")
        let config = try JSONParser.parse(stdout)
        #expect(config["default_breaker"]?["policy"] == .string("rate"))
        #expect(config["default_breaker"]?["window"]?["size"] == .int(40))
        let rules = config["rules"]?.array ?? []
        #expect(rules.first?["preset"] == .string("external-api-rate"))
        #expect(rules.first?["min_reporters"] == .int(2))
        #expect(rules.first?["timeout_backoff"] == .object(JSONObject([("multiplier", .int(2)), ("max_ms", .int(600_000))])))
        #expect(rules.last?["mode"] == .string("metrics_only"))
        #expect(rules.last?["policy"] == .string("rate"))  // a rule without a preset starts from default_breaker

        try #"{"default_breaker": {"policy": "rate", "window": {"kind": "count", "size": 5}}}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try runBreakerd(["--config", file, "--print-config"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("minimum_calls (20) is larger than the count window (5 calls)"))
    }
}
}
