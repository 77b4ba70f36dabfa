import BreakerCore
@testable import BreakerHTTP
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("Health and readiness")
struct HealthEndpointTests {
    @Test func healthJSONHasTheSeedShape() async throws {
        try await withHTTPDaemon { daemon in
            let c = try daemon.client()
            try c.request(#"{"op":"record-failure","breaker":"kafka-topic-orders","count":2}"#)
            try c.request(#"{"op":"record-success","breaker":"postgresql-primary","count":4}"#)
            let response = try daemon.get("/health/circuit-breakers")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/json")
            let json = try JSONParser.parse(response.text.trimmingCharacters(in: .whitespacesAndNewlines))
            guard case .object(let root) = json else { Issue.record("not an object: \(response.text)"); return }
            #expect(root.fields.map(\.key) == ["kafka-topic-orders", "postgresql-primary"])
            let kafka = try #require(json["kafka-topic-orders"])
            guard case .object(let fields) = kafka else { Issue.record("not an object"); return }
            #expect(fields.fields.map(\.key) == [
                "state", "failure_count", "success_count", "total_calls", "rejected_calls", "last_state_change",
            ])
            #expect(kafka["state"] == .string("closed"))
            #expect(kafka["failure_count"] == .int(2))
            #expect(kafka["total_calls"] == .int(2))
            #expect(json["postgresql-primary"]?["total_calls"] == .int(4))
            #expect(RFC3339.parse(kafka["last_state_change"]?.string ?? "") != nil)
        }
    }

    @Test func healthzAndReadyzAnswer200WhenAllIsWell() async throws {
        try await withHTTPDaemon { daemon in
            #expect(try daemon.get("/healthz").status == 200)
            let ready = try daemon.get("/readyz")
            #expect(ready.status == 200)
            #expect(ready.text == "{\"ready\":true}\n")
        }
    }

    @Test func readyzIs503WhileTheDiskRefusesWritesAnd200Again() async throws {
        try await withHTTPDaemon { daemon in
            let writer = daemon.registry.storeWriterForTesting
            writer.withDatabaseForTesting { try? $0.executeForTesting("PRAGMA query_only = ON") }
            let c = try daemon.client()
            let reply = try c.request(#"{"op":"record-failure","breaker":"x"}"#)
            #expect(reply["error"]?["code"] == .string("internal"))
            let refused = try daemon.get("/readyz")
            #expect(refused.status == 503)
            #expect(refused.text.contains("database: last write failed"), "\(refused.text)")
            writer.withDatabaseForTesting { try? $0.executeForTesting("PRAGMA query_only = OFF") }
            #expect(try c.request(#"{"op":"record-failure","breaker":"x"}"#)["ok"] == .bool(true))
            #expect(try daemon.get("/readyz").status == 200)
        }
    }

    @Test func readinessNamesWhatIsMissing() {
        let readiness = Readiness(listeners: ["protocol", "http"])
        readiness.markBound("http")
        #expect(readiness.reasons(store: .init()) == ["protocol listener not bound"])
        readiness.markBound("protocol")
        #expect(readiness.reasons(store: .init()).isEmpty)
        readiness.markStopping()
        #expect(readiness.reasons(store: .init()) == ["shutting down"])
    }
}
