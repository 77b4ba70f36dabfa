import BreakerHTTP
import BreakerTestSupport
import Foundation
import Testing

@Suite("HTTP hardening")
struct HTTPHardeningTests {
    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() async throws {
        try await withHTTPDaemon { daemon in
            #expect(try daemon.get("/nope").status == 404)
            #expect(try daemon.get("/metrics/extra").status == 404)
            for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
                let response = try daemon.get("/metrics", method: method)
                #expect(response.status == 405, "\(method)")
                #expect(response.headers["allow"] == "GET, HEAD", "\(method)")
            }
        }
    }

    @Test func headHasTheLengthButNoBody() async throws {
        try await withHTTPDaemon { daemon in
            let get = try daemon.get("/healthz")
            let client = try HTTPTestClient(port: daemon.httpPort)
            try client.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try client.readResponse(head: true)
            #expect(head.status == 200)
            #expect(head.headers["content-length"] == String(get.body.count))
            // The next response starts right after the HEAD headers: no stray body bytes.
            let next = try client.readResponse()
            #expect(next.status == 200)
            #expect(next.body == get.body)
        }
    }

    @Test func queryStringsAreIgnored() async throws {
        try await withHTTPDaemon { daemon in
            let response = try daemon.get("/healthz?verbose=1")
            #expect(response.status == 200)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() async throws {
        try await withHTTPDaemon { daemon in
            let client = try HTTPTestClient(port: daemon.httpPort)
            try client.send(
                "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().text.contains("ready"))
            #expect(try client.readResponse().status == 404)
            #expect(try client.readResponse().text.contains("circuit_breaker_state"))
            #expect(try client.readResponse().text.contains("ok"))
        }
    }

    @Test func aBodyOnGetIsDroppedAndTheNextRequestStillParses() async throws {
        try await withHTTPDaemon { daemon in
            let client = try HTTPTestClient(port: daemon.httpPort)
            // If the body were not consumed, "GET /nope" would be read from inside it.
            let body = "GET /nope HTTP/1.1\r\n\r\n"
            try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                + "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            let second = try client.readResponse()
            #expect(second.status == 200)
            #expect(second.text.contains("ready"))
        }
    }

    @Test func anOversizedHeaderIsRejectedAndTheConnectionClosed() async throws {
        try await withHTTPDaemon { daemon in
            let client = try HTTPTestClient(port: daemon.httpPort)
            let big = String(repeating: "a", count: 16 * 1024)
            try client.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(client.isClosedByPeer())
            // The listener itself is unharmed.
            #expect(try daemon.get("/healthz").status == 200)
        }
    }

    @Test func tooManyHeaderFieldsAreRejected() async throws {
        try await withHTTPDaemon { daemon in
            let client = try HTTPTestClient(port: daemon.httpPort)
            let fields = (0..<200).map { "X-F\($0): v\r\n" }.joined()
            try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\(fields)\r\n")
            #expect(try client.readResponse().status == 400)
        }
    }

    @Test func garbageIsABadRequest() async throws {
        try await withHTTPDaemon { daemon in
            let client = try HTTPTestClient(port: daemon.httpPort)
            try client.send("{\"op\":\"ping\"}\n\r\n\r\n")
            #expect(try client.readResponse().status == 400)
            #expect(client.isClosedByPeer())
        }
    }

    @Test func http10GetsItsConnectionClosed() async throws {
        try await withHTTPDaemon { daemon in
            let client = try HTTPTestClient(port: daemon.httpPort)
            try client.send("GET /healthz HTTP/1.0\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            #expect(client.isClosedByPeer())
        }
    }

    @Test func shutdownClosesIdleKeepAliveConnections() async throws {
        let daemon = try await HTTPTestDaemon()
        let client = try HTTPTestClient(port: daemon.httpPort)
        try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        await daemon.stop()
        #expect(client.isClosedByPeer())
    }
}
