import BreakerServer
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// The daemon's limits over real sockets: breakers, connections, in-flight replies, idle time.
@Suite("Limits: max breakers, connections, in-flight replies, idle timeout")
struct LimitsTests {
    @Test func newNamesBeyondMaxBreakersAreOverloadedAndExistingOnesKeepWorking() async throws {
        var settings = BreakerRegistry.Settings()
        settings.maxBreakers = 3
        try await withDaemon(settings: settings) { daemon in
            let client = try daemon.client()
            for name in ["a", "b", "c"] {
                #expect(try client.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#)["ok"] == .bool(true))
            }
            for line in [#"{"op":"should-attempt","breaker":"d"}"#, #"{"op":"record-failure","breaker":"d"}"#,
                         #"{"op":"configure","breaker":"d","config":{"timeout_ms":5}}"#,
                         #"{"op":"force-open","breaker":"d","reason":"x"}"#] {
                let reply = try client.request(line)
                #expect(reply["error"]?["code"] == .string("overloaded"), "\(line) → \(reply)")
            }
            // Existing breakers: decisions, records, configure, reset all still work.
            #expect(try client.request(#"{"op":"record-failure","breaker":"a"}"#)["ok"] == .bool(true))
            #expect(try client.request(#"{"op":"configure","breaker":"b","config":{"timeout_ms":5}}"#)["ok"] == .bool(true))
            #expect(try client.request(#"{"op":"reset","breaker":"c"}"#)["ok"] == .bool(true))
            #expect(try client.request(#"{"op":"list"}"#)["breakers"]?.array?.count == 3)
            #expect(daemon.registry.breakerCount == 3)
            // A bad configure of a new name does not use up a place.
            #expect(try client.request(#"{"op":"configure","breaker":"e","config":{"timeout_ms":0}}"#)["error"]?["code"] != nil)
            #expect(daemon.registry.breakerCount == 3)
        }
    }

    @Test func connectionsBeyondTheLimitGetOverloadedAndAreClosed() async throws {
        try await withDaemon(configure: { $0.maxConnections = 2 }) { daemon in
            let first = try daemon.client()
            var second: LineClient? = try daemon.client()
            #expect(try first.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            #expect(try second?.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            let third = try daemon.client()
            #expect(try third.readJSON()["error"]?["code"] == .string("overloaded"))
            #expect(third.isClosedByPeer())
            // The admitted ones are unaffected, and a place frees up when one leaves.
            #expect(try first.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            second = nil
            #expect(eventually { (try? daemon.client().request(#"{"op":"ping"}"#)["ok"]) == .bool(true) })
        }
    }

    @Test func aPipelineFarBeyondMaxInFlightIsAnsweredInOrder() async throws {
        try await withDaemon(configure: { $0.maxInFlightPerConnection = 4 }) { daemon in
            let client = try daemon.client()
            let count = 3_000
            let batch: [UInt8] = (0..<count).flatMap { i in
                let op = i % 3 == 0 ? #""op":"record-success","breaker":"p""# : #""op":"ping""#
                return Array("{\(op),\"id\":\(i)}\n".utf8)
            }
            // Sent from another thread: the daemon stops reading at 4 outstanding replies, so a
            // sender that does not read would block once the socket buffers fill.
            let sender = client.sender
            let thread = Thread { try? sender.send(batch) }
            thread.start()
            for i in 0..<count {
                let reply = try client.readJSON()
                #expect(reply["id"] == .int(Int64(i)))
                if reply["id"] != .int(Int64(i)) { break }
            }
        }
    }

    @Test func idleConnectionsAreClosedButWatchersAndTalkersStay() async throws {
        // The talker speaks every 250 ms against a 1 s idle timeout: a stall of 750 ms (a loaded
        // machine under ThreadSanitizer) is needed to cut it off, not one of 200 ms.
        try await withDaemon(configure: { $0.transport.idleTimeout = .seconds(1) }) { daemon in
            let idle = try daemon.client(), talker = try daemon.client(), watcher = try daemon.client()
            #expect(try watcher.request(#"{"op":"watch"}"#)["ok"] == .bool(true))
            for _ in 0..<10 {
                #expect(try talker.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
                usleep(250_000)
            }
            #expect(idle.isClosedByPeer())
            // The watcher, silent for 2.5 s, still hears about changes.
            _ = try talker.request(#"{"op":"force-open","breaker":"w","reason":"test"}"#)
            #expect(try watcher.readJSON()["event"] != nil)
        }
    }
}
