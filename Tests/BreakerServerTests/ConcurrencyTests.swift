import BreakerCore
import BreakerServer
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("Exact under concurrency and pipelining")
struct ConcurrencyTests {
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            var batch = ""
            for i in 0..<200 {
                let op = i % 3 == 0 ? "record-success" : (i % 3 == 1 ? "should-attempt" : "inspect")
                batch += #"{"op":"\#(op)","breaker":"pipe","id":\#(i)}"# + "\n"
            }
            try c.sendRaw(Array(batch.utf8))
            for i in 0..<200 { #expect(try c.readJSON()["id"] == .int(Int64(i))) }
        }
    }

    @Test func manyConnectionsFailingAtOnceMakeExactlyOneTransition() async throws {
        try await withDaemon { daemon in
            try daemon.client().request(#"{"op":"configure","breaker":"herd","config":{"failure_threshold":5}}"#)
            let connections = 50, perConnection = 20
            let port = daemon.port
            let acknowledged = Counter()
            // Every connection sends its whole burst at once, so the records race in the daemon.
            DispatchQueue.concurrentPerform(iterations: connections) { _ in
                guard let client = try? LineClient(port: port) else { return }
                let burst = String(repeating: #"{"op":"record-failure","breaker":"herd"}"# + "\n", count: perConnection)
                try? client.sendRaw(Array(burst.utf8))
                for _ in 0..<perConnection where (try? client.readJSON())?["ok"] == .bool(true) { acknowledged.add() }
            }
            #expect(acknowledged.value == connections * perConnection)
            let metrics = try daemon.client().request(#"{"op":"inspect","breaker":"herd"}"#)["breaker"]?["metrics"]
            #expect(metrics?["total_calls"] == .int(Int64(connections * perConnection)))
            #expect(metrics?["failed_calls"] == .int(Int64(connections * perConnection)))
            #expect(metrics?["state_transitions"]?["closed_to_open"] == .int(1))
        }
    }

    @Test func exactlyHalfOpenMaxCallsPermitsGoOutAtTheEdge() async throws {
        let clock = ManualClock()
        try await withDaemon(clock: clock) { daemon in
            let admin = try daemon.client()
            try admin.request(#"{"op":"configure","breaker":"edge","config":{"failure_threshold":1,"timeout_ms":200,"half_open_max_calls":3}}"#)
            try admin.request(#"{"op":"record-failure","breaker":"edge"}"#)
            clock.advance(by: .milliseconds(200))
            #expect(try admin.request(#"{"op":"inspect","breaker":"edge"}"#)["breaker"]?["state"] == .string("half_open"))
            let port = daemon.port
            let permits = Counter(), answers = Counter()
            DispatchQueue.concurrentPerform(iterations: 40) { _ in
                guard let reply = try? LineClient(port: port).request(#"{"op":"should-attempt","breaker":"edge"}"#) else { return }
                answers.add()
                if reply["permit"] != nil { permits.add() }
            }
            #expect(answers.value == 40)
            #expect(permits.value == 3)
            #expect(try admin.request(#"{"op":"inspect","breaker":"edge"}"#)["breaker"]?["half_open_in_flight"] == .int(3))
        }
    }

    @Test func thousandsOfConnectionsAreServed() async throws {
        try await withDaemon { daemon in
            let clients = try (0..<2000).map { _ in try daemon.client() }
            for (i, client) in clients.enumerated() { try client.send(#"{"op":"record-success","breaker":"many","id":\#(i)}"#) }
            for (i, client) in clients.enumerated() { #expect(try client.readJSON()["id"] == .int(Int64(i))) }
            #expect(try clients[0].request(#"{"op":"inspect","breaker":"many"}"#)["breaker"]?["metrics"]?["total_calls"] == .int(2000))
        }
    }
}

/// A thread-safe counter for `concurrentPerform` bodies.
final class Counter: @unchecked Sendable {
    // Safe: `count` is only touched with `lock` held.
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
