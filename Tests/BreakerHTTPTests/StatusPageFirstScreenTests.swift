@testable import BreakerHTTP
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("status page first screen and last transitions")
struct StatusPageFirstScreenTests {
    /// a-1 … a-4 and b-1 closed, a-3 tripped, b-1 forced open.
    private func seed(_ daemon: HTTPTestDaemon) throws -> LineClient {
        let client = try daemon.client()
        #expect(try client.request(#"{"op":"auth","token":"\#(aliceToken)"}"#)["ok"] == .bool(true))
        for name in ["a-1", "a-2", "a-3", "a-4", "b-1"] {
            #expect(try client.request(#"{"op":"configure","breaker":"\#(name)","config":{"failure_threshold":1}}"#)["ok"] == .bool(true))
        }
        #expect(try client.request(#"{"op":"record-failure","breaker":"a-3"}"#)["state"] == .string("open"))
        #expect(try client.request(#"{"op":"force-open","breaker":"b-1","reason":"drill"}"#)["ok"] == .bool(true))
        return client
    }

    private func screen(_ daemon: HTTPTestDaemon, _ query: String) throws -> (names: [String], rest: JSONValue) {
        let response = try daemon.get("/api/breakers?" + query)
        #expect(response.status == 200)
        var body = try JSONParser.parse(response.text)
        let names = (body["breakers"]?.array ?? []).compactMap { $0["name"]?.string }
        if case .object(var object) = body {
            object.fields.removeAll { $0.key == "breakers" }
            body = .object(object)
        }
        return (names, body)
    }

    @Test func theFirstScreenIsThePagesOrderWithCountsOfAll() async throws {
        try await withStatusPageDaemon { daemon in
            _ = try seed(daemon)
            let states = #"{"closed":3,"open":1,"half_open":0,"forced_open":1}"#
            let all = try screen(daemon, "limit=3")
            #expect(all.names == ["a-3", "b-1", "a-1"])
            #expect(all.rest == (try JSONParser.parse(#"{"count":5,"total":5,"states":\#(states)}"#)))
            let byName = try screen(daemon, "limit=2&sort=name&prefix=a-")
            #expect(byName.names == ["a-1", "a-2"])
            #expect(byName.rest == (try JSONParser.parse(#"{"count":4,"total":5,"states":\#(states)}"#)))
            let closed = try screen(daemon, "limit=10&state=closed")
            #expect(closed.names == ["a-1", "a-2", "a-4"])
            #expect(closed.rest["count"] == .int(3))
            // The latest change first, ties (same millisecond) by name.
            let listed = try daemon.client().request(#"{"op":"list"}"#)["breakers"]?.array ?? []
            let byChange = listed.sorted {
                let (a, b) = ($0["metrics"]?["last_state_change"]?.string ?? "", $1["metrics"]?["last_state_change"]?.string ?? "")
                return a != b ? a > b : ($0["name"]?.string ?? "") < ($1["name"]?.string ?? "")
            }
            let changed = try screen(daemon, "limit=2&sort=change")
            #expect(changed.names == byChange.prefix(2).compactMap { $0["name"]?.string })
            for bad in ["limit=0", "limit=1001", "limit=x", "limit=5&state=shut", "limit=5&sort=size"] {
                #expect(try daemon.get("/api/breakers?" + bad).status == 400, "\(bad)")
            }
        }
    }

    @Test func tilesCarryTheLastTransitionAsListAndHistoryTellIt() async throws {
        try await withStatusPageDaemon { daemon in
            let client = try seed(daemon)
            let listed = try client.request(#"{"op":"list","prefix":"a-3"}"#)["breakers"]?.array?.first
            let history = try client.request(#"{"op":"history","breaker":"a-3"}"#)["transitions"]?.array?.first
            let tiles = try JSONParser.parse(try daemon.get("/api/breakers").text)["breakers"]?.array ?? []
            let tile = tiles.first { $0["name"] == .string("a-3") }
            let expected = JSONValue.object([
                "from": .string("closed"), "to": .string("open"), "at": history?["at"] ?? .null,
                "reason": .string("failure_threshold"),
            ])
            #expect(tile?["last_transition"] == expected)
            #expect(listed?["last_transition"] == expected)
            #expect(history?["at"] == tile?["metrics"]?["last_state_change"])
            let forced = tiles.first { $0["name"] == .string("b-1") }?["last_transition"]
            #expect(forced?["reason"] == .string("forced_open"))
            #expect(tiles.first { $0["name"] == .string("a-1") }?["last_transition"] == nil)
            let screen = try JSONParser.parse(try daemon.get("/api/breakers?limit=1").text)["breakers"]?.array?.first
            #expect(screen == tile)
        }
    }
}
