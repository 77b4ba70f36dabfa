import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// What README and proto-docs/PROTOCOL.md promise a newcomer, checked against the real daemon.
extension ExecutableTests {
@Suite("breakerd as the docs describe it", .serialized)
struct DocumentedBehaviourTests {
    @Test func theUnauthorizedHintNamesWhatBreakerctlReads() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokens = directory + "/admin-tokens"
        try "alice:s3cret-token-for-alice\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        let daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: ["--admin-token-file", tokens])
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        let c = try daemon.client()
        let refused = try c.request(#"{"op":"reset","breaker":"payments-api"}"#)
        #expect(refused["error"]?["code"] == .string("unauthorized"))
        let message = refused["error"]?["message"]?.string ?? ""
        #expect(message.contains("BREAKERD_TOKEN") && message.contains("--token-file") && message.contains(#"{"op":"auth""#), "\(message)")
        // The daemon's name:token line is not a token; the token alone is.
        #expect(try c.request(#"{"op":"auth","token":"alice:s3cret-token-for-alice"}"#)["error"]?["code"] == .string("unauthorized"))
        #expect(try c.request(#"{"op":"auth","token":"s3cret-token-for-alice"}"#)["name"] == .string("alice"))
    }

    @Test func aTokenShorterThan16BytesStopsTheDaemon() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokens = directory + "/admin-tokens"
        try "alice:fifteen-bytes-xx\nbob:0123456789abcde\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        let run = try DaemonProcess(database: directory + "/db.sqlite3", arguments: ["--admin-token-file", tokens]).runToCompletion()
        #expect(run.status == 1)
        #expect(run.stderr.contains("the token for 'bob' is shorter than 16 bytes"), "\(run.stderr)")
    }

    @Test func idsComeBackAsValuesNotText() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/db.sqlite3")
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        let c = try daemon.client()
        for (sent, echoed) in [("1e3", "1000.0"), ("1.50", "1.5"), ("-0", "0"), ("-7", "-7"),
                               ("12345678901234567890", "1.2345678901234567e+19"), (#""\u0041""#, #""A""#)] {
            try c.send(#"{"op":"ping","id":\#(sent)}"#)
            let reply = try c.readLine()
            #expect(reply.hasPrefix(#"{"ok":true,"id":\#(echoed),"#), "id \(sent): \(reply)")
        }
        for refused in ["null", "true", "{}", "[]", "1e999"] {
            let reply = try c.request(#"{"op":"ping","id":\#(refused)}"#)
            #expect(reply["error"]?["code"] == .string("bad_request") && reply["id"] == nil, "id \(refused): \(reply)")
        }
    }
}
}
