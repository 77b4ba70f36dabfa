@testable import BreakerHTTP
import BreakerServer
import BreakerTestSupport
import Foundation
import Testing

@Suite("/metrics label cardinality cap")
struct MetricCardinalityTests {
    /// Per-breaker sample lines (`circuit_breaker_*`, not comments) in a scrape.
    private func breakerSeries(_ text: String) -> Int {
        text.split(separator: "\n").filter { $0.hasPrefix("circuit_breaker_") }.count
    }

    @Test func theCapCountsEverySeriesABreakerHas() async throws {
        // 13 series a breaker: state, three call results, nine transition kinds.
        #expect(BreakerExposition.seriesPerBreaker == 13)
        try await withHTTPDaemon(maxMetricSeries: 20) { daemon in
            let c = try daemon.client()
            for name in ["a", "b", "c", "d"] { try c.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#) }
            let text = try daemon.get("/metrics").text
            #expect(breakerSeries(text) == 13)  // one whole breaker fits under 20, not two
            #expect(prometheusValue(text, "breakerd_metric_series_dropped_total") == 39)
        }
    }

    @Test func seriesBeyondTheCapAreLeftOutAndCounted() async throws {
        // 39 series: room for three breakers of thirteen series each.
        try await withHTTPDaemon(maxMetricSeries: 39) { daemon in
            let c = try daemon.client()
            for name in ["a", "b", "c", "d", "e"] { try c.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#) }
            try c.request(#"{"op":"force-open","breaker":"z","reason":"test"}"#)  // not closed: kept first
            let text = try daemon.get("/metrics").text
            let named = Set(["a", "b", "c", "d", "e", "z"].filter { text.contains(#"circuit_breaker_state{name="\#($0)"}"#) })
            #expect(named == ["a", "b", "z"], "\(named)")
            #expect(breakerSeries(text) == 39)
            #expect(prometheusValue(text, "breakerd_metric_series_dropped_total") == 39)
            // A counter: the next scrape adds its own drops.
            #expect(prometheusValue(try daemon.get("/metrics").text, "breakerd_metric_series_dropped_total") == 78)
        }
    }

    @Test func underTheCapNothingIsDropped() async throws {
        try await withHTTPDaemon { daemon in
            try daemon.client().request(#"{"op":"should-attempt","breaker":"a"}"#)
            #expect(prometheusValue(try daemon.get("/metrics").text, "breakerd_metric_series_dropped_total") == 0)
        }
    }
}
