@testable import BreakerHTTP
import BreakerServer
import BreakerTestSupport
import Foundation
import Testing

@Suite("/metrics label cardinality cap")
struct MetricCardinalityTests {
    @Test func seriesBeyondTheCapAreLeftOutAndCounted() async throws {
        // 27 series: room for three breakers of nine series each.
        try await withHTTPDaemon(maxMetricSeries: 27) { daemon in
            let c = try daemon.client()
            for name in ["a", "b", "c", "d", "e"] { try c.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#) }
            try c.request(#"{"op":"force-open","breaker":"z","reason":"test"}"#)  // not closed: kept first
            let text = try daemon.get("/metrics").text
            let named = Set(["a", "b", "c", "d", "e", "z"].filter { text.contains(#"circuit_breaker_state{name="\#($0)"}"#) })
            #expect(named == ["a", "b", "z"], "\(named)")
            #expect(prometheusValue(text, "breakerd_metric_series_dropped_total") == 27)
            // A counter: the next scrape adds its own drops.
            #expect(prometheusValue(try daemon.get("/metrics").text, "breakerd_metric_series_dropped_total") == 54)
        }
    }

    @Test func underTheCapNothingIsDropped() async throws {
        try await withHTTPDaemon { daemon in
            try daemon.client().request(#"{"op":"should-attempt","breaker":"a"}"#)
            #expect(prometheusValue(try daemon.get("/metrics").text, "breakerd_metric_series_dropped_total") == 0)
        }
    }
}
