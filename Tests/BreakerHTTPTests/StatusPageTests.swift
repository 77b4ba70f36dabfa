@testable import BreakerHTTP
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("status page routes")
struct StatusPageTests {
    @Test func pageAndItsAssetsAreServedWithTheirTypes() async throws {
        try await withStatusPageDaemon { daemon in
            let page = try daemon.get("/")
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(page.text.contains("<title>breakerd"))
            for script in ["tiles.js", "detail.js", "status.js"] {  // in this order: status.js starts the page
                #expect(page.text.contains(#"<script src="\#(script)""#))
            }
            #expect(page.text.range(of: "tiles.js")!.lowerBound < page.text.range(of: "status.js")!.lowerBound)
            #expect(page.headers["content-security-policy"]?.contains("default-src 'self'") == true)
            let script = try daemon.get("/status.js")
            #expect(script.status == 200)
            #expect(script.headers["content-type"] == "text/javascript; charset=utf-8")
            #expect(script.text.contains("new EventSource('events')"))
            let parts = [try daemon.get("/tiles.js"), try daemon.get("/detail.js")]
            #expect(parts.map(\.status) == [200, 200])
            #expect(parts.map { $0.headers["content-type"] } == Array(repeating: "text/javascript; charset=utf-8", count: 2))
            #expect(parts[0].text.contains("function drawSpark") && parts[1].text.contains("async function act("))
            let style = try daemon.get("/status.css")
            #expect(style.headers["content-type"] == "text/css; charset=utf-8")
            #expect(([page, script, style] + parts).map(\.body.count).reduce(0, +) < 150 * 1024)
        }
    }

    @Test func noUIAnswers404OnEveryPageRoute() async throws {
        try await withHTTPDaemon { daemon throws in
            for path in ["/", "/status.js", "/tiles.js", "/detail.js", "/events", "/api/breakers", "/api/info"] {
                #expect(try daemon.get(path).status == 404, "\(path)")
            }
            #expect(try daemon.post("/api/admin", body: #"{"op":"reset","breaker":"a"}"#, token: aliceToken).status == 404)
            #expect(try daemon.get("/metrics").status == 200)
        }
    }

    @Test func breakerListMatchesTheProtocolsList() async throws {
        try await withStatusPageDaemon { daemon in
            let client = try daemon.client()
            for name in ["b-1", "a-2", "c-3"] {
                #expect(try client.request(#"{"op":"should-attempt","breaker":"\#(name)"}"#)["ok"] == .bool(true))
            }
            try client.request(#"{"op":"record-failure","breaker":"b-1"}"#)
            #expect(try client.request(#"{"op":"auth","token":"\#(aliceToken)"}"#)["ok"] == .bool(true))
            #expect(try client.request(#"{"op":"force-open","breaker":"c-3"}"#)["ok"] == .bool(true))
            let listed = try client.request(#"{"op":"list"}"#)["breakers"]?.array ?? []
            let response = try daemon.get("/api/breakers")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/json")
            let page = try JSONParser.parse(response.text)
            let tiles = page["breakers"]?.array ?? []
            #expect(tiles.map { $0["name"] } == listed.map { $0["name"] })
            #expect(tiles.map { $0["state"] } == listed.map { $0["state"] })
            #expect(tiles.last?["state"] == .string("forced_open"))
            #expect(tiles.map { $0["generation"] } == listed.map { $0["generation"] })
            #expect(tiles.first { $0["name"] == .string("b-1") }?["failure_count"] == .int(1))
            #expect(page["count"] == .int(3))
        }
    }

    @Test func inspectAndHistoryUseTheProtocolsReplies() async throws {
        try await withStatusPageDaemon { daemon in
            #expect(try daemon.client().request(#"{"op":"should-attempt","breaker":"svc"}"#)["ok"] == .bool(true))
            let inspect = try JSONParser.parse(try daemon.get("/api/breaker?name=svc").text)
            #expect(inspect["breaker"]?["config"]?["failure_threshold"] == .int(5))
            #expect(try daemon.get("/api/breaker?name=nope").status == 404)
            #expect(try daemon.get("/api/breaker?name=bad%20name").status == 400)
            let history = try JSONParser.parse(try daemon.get("/api/history?name=svc&limit=5").text)
            #expect(history["transitions"] == .array([]))
            #expect(try daemon.get("/api/history?name=svc&limit=0").status == 400)
        }
    }

    @Test func infoSaysWhetherActionsWork() async throws {
        try await withStatusPageDaemon { daemon throws in
            #expect(try JSONParser.parse(try daemon.get("/api/info").text)["actions"] == .bool(true))
        }
        try await withStatusPageDaemon(tokens: nil) { daemon in
            let info = try JSONParser.parse(try daemon.get("/api/info").text)
            #expect(info["actions"] == .bool(false))
            #expect(info["actions_disabled_reason"]?.string?.contains("--admin-token-file") == true)
        }
    }

    @Test func eventsStreamsATransitionAsItHappens() async throws {
        try await withStatusPageDaemon { daemon in
            let events = try daemon.openEvents()
            #expect(try events.readLine().hasPrefix("HTTP/1.1 200"))
            var contentType: String?
            while true {
                let line = try events.readLine()
                if line == "\r" { break }
                if line.lowercased().hasPrefix("content-type:") { contentType = String(line.dropFirst(13)).trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            #expect(contentType == "text/event-stream; charset=utf-8")
            // The stream is registered when its head is written; the first summary follows within ~1 s.
            _ = try events.nextEvent("summary")
            let client = try daemon.client()
            #expect(try client.request(#"{"op":"auth","token":"\#(aliceToken)"}"#)["ok"] == .bool(true))
            #expect(try client.request(#"{"op":"configure","breaker":"trip","config":{"failure_threshold":1}}"#)["ok"] == .bool(true))
            #expect(try client.request(#"{"op":"record-failure","breaker":"trip"}"#)["state"] == .string("open"))
            let transition = try JSONParser.parse(try events.nextEvent("transition"))
            #expect(transition["breaker"] == .string("trip"))
            #expect(transition["from"] == .string("closed"))
            #expect(transition["to"] == .string("open"))
            #expect(transition["reason"] == .string("failure_threshold"))
            let summary = try JSONParser.parse(try events.nextEvent("summary"))
            #expect(summary["breakers"]?.array?.contains { $0["name"] == .string("trip") } == true)
        }
    }

    @Test func aBodyOverTheBoundIs413AndTheConnectionCloses() async throws {
        try await withStatusPageDaemon { daemon in
            let client = try HTTPTestClient(port: daemon.httpPort)
            let body = String(repeating: "x", count: HTTPRequest.maxBodyBytes + 1)
            try client.send("POST /api/admin HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.headers["connection"] == "close")
            #expect(client.isClosedByPeer())
            // A body at the bound is read whole (and refused for what it says, not its size).
            let atBound = try daemon.post("/api/admin", body: String(repeating: " ", count: HTTPRequest.maxBodyBytes - 2) + "{}", token: aliceToken)
            #expect(atBound.status == 400)
        }
    }
}
