@testable import BreakerHTTP
import BreakerCore
import BreakerServer
import BreakerTestSupport
import Foundation
import Testing

@Suite("GET /metrics")
struct MetricsEndpointTests {
    @Test func valuesAfterKnownTraffic() async throws {
        try await withHTTPDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"pay","config":{"failure_threshold":2,"timeout_ms":60000}}"#)
            try c.request(#"{"op":"record-success","breaker":"pay","count":5}"#)
            try c.request(#"{"op":"record-failure","breaker":"pay","count":2}"#)  // opens it
            for _ in 0..<3 { try c.request(#"{"op":"should-attempt","breaker":"pay"}"#) }  // rejected
            try c.request(#"{"op":"record-success","breaker":"db"}"#)

            let response = try daemon.get("/metrics")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            let text = response.text
            #expect(prometheusValue(text, #"circuit_breaker_state{name="pay"}"#) == 2)
            #expect(prometheusValue(text, #"circuit_breaker_state{name="db"}"#) == 0)
            #expect(prometheusValue(text, #"circuit_breaker_calls_total{name="pay",result="success"}"#) == 5)
            #expect(prometheusValue(text, #"circuit_breaker_calls_total{name="pay",result="failure"}"#) == 2)
            #expect(prometheusValue(text, #"circuit_breaker_calls_total{name="pay",result="rejected"}"#) == 3)
            #expect(prometheusValue(text, #"circuit_breaker_calls_total{name="db",result="success"}"#) == 1)
            #expect(prometheusValue(text, #"circuit_breaker_transitions_total{name="pay",from_state="closed",to_state="open"}"#) == 1)
            #expect(prometheusValue(text, #"circuit_breaker_transitions_total{name="pay",from_state="open",to_state="half_open"}"#) == 0)
            #expect(text.contains("# TYPE circuit_breaker_state gauge\n"))
            #expect(text.contains("# TYPE circuit_breaker_calls_total counter\n"))
            #expect(text.contains("# TYPE circuit_breaker_transitions_total counter\n"))
        }
    }

    @Test func twoScrapesWithoutTrafficReadTheSame() async throws {
        try await withHTTPDaemon(daemonMetrics: { Array("# TYPE breakerd_x gauge\nbreakerd_x 1\n".utf8) }) { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"record-failure","breaker":"a","count":3}"#)
            try c.request(#"{"op":"record-success","breaker":"b","count":7}"#)
            let first = try daemon.get("/metrics").text
            let second = try daemon.get("/metrics").text
            #expect(first == second)
            #expect(prometheusValue(second, #"circuit_breaker_calls_total{name="b",result="success"}"#) == 7)
            #expect(second.hasSuffix("breakerd_x 1\n"), "the backend's text is appended after the breaker series")
        }
    }

    @Test func halfOpenReadsOneOnceTheTimeoutHasPassed() async throws {
        let clock = ManualClock()
        try await withHTTPDaemon(clock: clock) { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"t","config":{"failure_threshold":1,"timeout_ms":50}}"#)
            try c.request(#"{"op":"record-failure","breaker":"t"}"#)
            clock.advance(by: .milliseconds(49))
            let open = try daemon.get("/metrics").text
            #expect(prometheusValue(open, #"circuit_breaker_state{name="t"}"#) == 2)
            clock.advance(by: .milliseconds(1))
            let text = try daemon.get("/metrics").text
            #expect(prometheusValue(text, #"circuit_breaker_state{name="t"}"#) == 1)
            #expect(prometheusValue(text, #"circuit_breaker_transitions_total{name="t",from_state="open",to_state="half_open"}"#) == 1)
        }
    }

    @Test func aForcedOpenBreakerReadsTwoAndStaysOpenPastAnyTimeout() async throws {
        let clock = ManualClock()
        try await withHTTPDaemon(clock: clock) { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"configure","breaker":"f","config":{"timeout_ms":50}}"#)
            try c.request(#"{"op":"force-open","breaker":"f","reason":"maintenance"}"#)
            clock.advance(by: .seconds(3600))
            let text = try daemon.get("/metrics").text
            #expect(prometheusValue(text, #"circuit_breaker_state{name="f"}"#) == 2)
            #expect(prometheusValue(text, #"circuit_breaker_transitions_total{name="f",from_state="closed",to_state="forced_open"}"#) == 1)
            #expect(prometheusValue(text, #"circuit_breaker_transitions_total{name="f",from_state="open",to_state="half_open"}"#) == 0)
        }
    }

    @Test func anyStateButClosedAndHalfOpenCountsAsOpen() {
        #expect(BreakerExposition.stateValue(.closed) == 0)
        #expect(BreakerExposition.stateValue(.halfOpen) == 1)
        #expect(BreakerExposition.stateValue(.open) == 2)
        #expect(BreakerExposition.stateValue(.forcedOpen) == 2)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        var text = PrometheusText()
        text.family("m", type: "gauge", help: "a \\ and\na newline")
        text.sample("m", [("name", "q\"b\\s\nn")], 3)
        #expect(String(decoding: text.bytes, as: UTF8.self) == """
            # HELP m a \\\\ and\\na newline
            # TYPE m gauge
            m{name="q\\"b\\\\s\\nn"} 3

            """)
    }

    @Test func scrapeWithNoBreakersIsStillValid() async throws {
        try await withHTTPDaemon { daemon in
            let text = try daemon.get("/metrics").text
            #expect(text.hasPrefix("# HELP circuit_breaker_state "))
            #expect(!text.contains("{name="))
        }
    }
}
