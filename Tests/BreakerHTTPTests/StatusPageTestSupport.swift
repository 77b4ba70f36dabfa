import BreakerHTTP
import BreakerServer
import BreakerTestSupport
import Foundation

/// The admin token file the status page tests use: `alice` may act.
let statusPageTokens = try! AdminTokens(fileContents: "alice:alice-token-0123456789abcdef\n")
let aliceToken = "alice-token-0123456789abcdef"

/// Runs `body` against a daemon serving the status page (`tokens` for protocol and page alike)
/// and always stops it.
func withStatusPageDaemon<T>(tokens: AdminTokens? = statusPageTokens, _ body: (HTTPTestDaemon) async throws -> T) async throws -> T {
    try await withHTTPDaemon(statusPage: StatusPageSettings(adminTokens: tokens), adminTokens: tokens, body)
}

extension HTTPTestDaemon {
    /// One POST on a fresh connection, with `Authorization: Bearer token` when given.
    func post(_ path: String, body: String, token: String? = nil) throws -> HTTPTestClient.Response {
        let client = try HTTPTestClient(port: httpPort)
        var request = "POST \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        try client.send(request)
        return try client.readResponse()
    }

    /// A connection that has asked for `GET /events`; read it with `nextEvent`.
    func openEvents() throws -> LineClient {
        let client = try LineClient(port: httpPort)
        try client.sendRaw(Array("GET /events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n".utf8))
        return client
    }
}

extension LineClient {
    /// Reads the stream until an event named `name` and returns its `data` (chunk-size lines of
    /// the chunked encoding and other events are skipped). Summaries and keep-alives keep the
    /// stream busy, so the read timeout alone would never end the wait: `seconds` does.
    func nextEvent(_ name: String, within seconds: Double = 10) throws -> String {
        var current: String?
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            guard Date() < deadline else { throw Failure(description: "no '\(name)' event within \(seconds) s") }
            let line = try readLine()
            if line.hasPrefix("event: ") { current = String(line.dropFirst(7)) }
            if line.hasPrefix("data: "), current == name { return String(line.dropFirst(6)) }
        }
    }
}
