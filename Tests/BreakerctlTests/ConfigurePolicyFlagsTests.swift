import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("breakerctl configure: trip-policy flags", .serialized)
struct ConfigurePolicyFlagsTests {
    @Test func everyPolicyFlagReachesTheDaemonAndInspectPrintsIt() throws {
        let d = try AdminDaemon(tokens: false)
        let result = try breakerctl([
            "configure", "orders", "--policy", "rate", "--window", "time:60s", "--failure-rate-threshold", "40",
            "--minimum-calls", "25", "--slow-call-duration", "2s", "--slow-call-rate-threshold", "60",
            "--timeout-backoff", "2x:5m", "--min-reporters", "3", "--mode", "metrics_only", "--json",
        ], port: d.port)
        #expect(result.status == 0, "\(result.stderr)")
        let config = try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines))["breaker"]?["config"]
        #expect(config?["policy"] == .string("rate"))
        #expect(config?["window"] == .object(JSONObject([("kind", .string("time")), ("seconds", .int(60))])))
        #expect(config?["failure_rate_threshold"] == .int(40))
        #expect(config?["minimum_calls"] == .int(25))
        #expect(config?["slow_call_duration_ms"] == .int(2_000))
        #expect(config?["slow_call_rate_threshold"] == .int(60))
        #expect(config?["timeout_backoff"] == .object(JSONObject([("multiplier", .int(2)), ("max_ms", .int(300_000))])))
        #expect(config?["min_reporters"] == .int(3))
        #expect(config?["mode"] == .string("metrics_only"))
        let inspect = try breakerctl(["inspect", "orders"], port: d.port)
        for needle in ["policy:                   rate", "window:                   time:60s", "failure rate threshold:   40%",
                       "slow call duration:       2s (trips at 60%)", "timeout backoff:          2x up to 5m",
                       "min reporters:            3", "mode:                     metrics_only", "reporters:           -"] {
            #expect(inspect.stdout.contains(needle), "missing \(needle)")
        }
        let off = try breakerctl(["configure", "orders", "--slow-call-duration", "off", "--timeout-backoff", "off",
                                  "--min-reporters", "off", "--json"], port: d.port)
        let cleared = try JSONParser.parse(off.stdout.trimmingCharacters(in: .newlines))["breaker"]?["config"]
        #expect(cleared?["slow_call_duration_ms"] == .null && cleared?["timeout_backoff"] == .null && cleared?["min_reporters"] == .null)
    }

    @Test func ratePresetsAndImpossibleCombinations() throws {
        let d = try AdminDaemon(tokens: false)
        let preset = try breakerctl(["configure", "stripe", "--preset", "external-api-rate", "--json"], port: d.port)
        let config = try JSONParser.parse(preset.stdout.trimmingCharacters(in: .newlines))["breaker"]?["config"]
        #expect(config?["policy"] == .string("rate"))
        #expect(config?["timeout_ms"] == .int(120_000))
        #expect(config?["window"]?["seconds"] == .int(60))
        let bad = try breakerctl(["configure", "x", "--policy", "rate", "--window", "count:10", "--minimum-calls", "20"], port: d.port)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("minimum_calls (20) is larger than the count window (10 calls)"))
        #expect(try breakerctl(["configure", "x", "--window", "sometimes"], port: d.port).status == 2)
        #expect(try breakerctl(["configure", "x", "--policy", "random"], port: d.port).status == 2)
        #expect(try breakerctl(["configure", "x", "--timeout-backoff", "2:5m"], port: d.port).status == 2)
    }
}
