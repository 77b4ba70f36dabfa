@testable import BreakerHTTP
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("status page admin actions")
struct AdminActionTests {
    static let forceOpen = #"{"op":"force-open","breaker":"payments","reason":"provider maintenance"}"#

    @Test func withoutATokenIs401Unauthorized() async throws {
        try await withStatusPageDaemon { daemon in
            let response = try daemon.post("/api/admin", body: Self.forceOpen)
            #expect(response.status == 401)
            #expect(response.headers["www-authenticate"] == "Bearer")
            let body = try JSONParser.parse(response.text)
            #expect(body["ok"] == .bool(false))
            #expect(body["error"]?["code"] == .string("unauthorized"))
            #expect(try daemon.client().request(#"{"op":"inspect","breaker":"payments"}"#)["error"]?["code"] == .string("not_found"))
        }
    }

    @Test func aWrongTokenIs401WithTheProtocolsMessageAndChangesNothing() async throws {
        try await withStatusPageDaemon { daemon in
            let client = try daemon.client()
            try client.request(#"{"op":"should-attempt","breaker":"payments"}"#)
            let response = try daemon.post("/api/admin", body: Self.forceOpen, token: "alice-token-0123456789abcdeX")
            #expect(response.status == 401)
            // The same reply the protocol's `auth` gives a wrong token.
            let protocolReply = try client.request(#"{"op":"auth","token":"alice-token-0123456789abcdeX"}"#)
            #expect(try JSONParser.parse(response.text)["error"] == protocolReply["error"])
            #expect(try client.request(#"{"op":"inspect","breaker":"payments"}"#)["breaker"]?["state"] == .string("closed"))
        }
    }

    @Test func theRightTokenForcesOpenAndHistoryShowsWhoAndWhy() async throws {
        try await withStatusPageDaemon { daemon in
            let response = try daemon.post("/api/admin", body: Self.forceOpen, token: aliceToken)
            #expect(response.status == 200, "\(response)")
            let reply = try JSONParser.parse(response.text)
            #expect(reply["breaker"]?["state"] == .string("forced_open"))
            #expect(reply["breaker"]?["forced"]?["by"] == .string("alice"))
            let client = try daemon.client()
            #expect(try client.request(#"{"op":"should-attempt","breaker":"payments"}"#)["allow"] == .bool(false))
            let history = try client.request(#"{"op":"history","breaker":"payments"}"#)["transitions"]?.array ?? []
            #expect(history.first?["to"] == .string("forced_open"))
            #expect(history.first?["actor"] == .string("alice"))
            #expect(history.first?["note"] == .string("provider maintenance"))
            // Release and reset go the same way.
            let release = try daemon.post("/api/admin", body: #"{"op":"release","breaker":"payments"}"#, token: aliceToken)
            #expect(try JSONParser.parse(release.text)["breaker"]?["state"] == .string("closed"))
            let released = try client.request(#"{"op":"history","breaker":"payments","limit":1}"#)["transitions"]?.array?.first
            #expect(released?["reason"] == .string("released"))
            #expect(released?["actor"] == .string("alice"))
            #expect(try daemon.post("/api/admin", body: #"{"op":"reset","breaker":"payments"}"#, token: aliceToken).status == 200)
        }
    }

    @Test func onlyThePagesActionsAreAccepted() async throws {
        try await withStatusPageDaemon { daemon in
            let configure = try daemon.post("/api/admin", body: #"{"op":"configure","breaker":"x","config":{"failure_threshold":2}}"#, token: aliceToken)
            #expect(configure.status == 400)
            #expect(try daemon.post("/api/admin", body: #"{"op":"release","breaker":"nope"}"#, token: aliceToken).status == 404)
            #expect(try daemon.post("/api/admin", body: "not json", token: aliceToken).status == 400)
            #expect(try daemon.get("/api/admin").status == 405)
        }
    }

    @Test func withoutATokenFileActionsAreRefused() async throws {
        try await withStatusPageDaemon(tokens: nil) { daemon in
            let response = try daemon.post("/api/admin", body: Self.forceOpen, token: aliceToken)
            #expect(response.status == 403)
            #expect(response.text.contains("--admin-token-file"))
            #expect(try daemon.client().request(#"{"op":"inspect","breaker":"payments"}"#)["error"]?["code"] == .string("not_found"))
        }
    }
}
