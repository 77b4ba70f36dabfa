import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// What README and proto-docs/PROTOCOL.md promise a newcomer, checked against the real daemon.
extension ExecutableTests {
@Suite("breakerd as the docs describe it", .serialized)
final class DocumentedBehaviourTests {
    /// A folder of this test's own for the database and the token file, removed after it.
    let directory = makeTempDirectory()
    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// The daemon's arguments for an admin token file holding `lines` (mode 600).
    func tokenFile(_ lines: String) throws -> [String] {
        let path = directory + "/admin-tokens"
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return ["--admin-token-file", path]
    }

    @Test func theUnauthorizedHintNamesWhatBreakerctlReads() throws {
        let daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: try tokenFile("alice:s3cret-token-for-alice\n"))
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
        let arguments = try tokenFile("alice:fifteen-bytes-xx\nbob:0123456789abcde\n")
        let run = try DaemonProcess(database: directory + "/db.sqlite3", arguments: arguments).runToCompletion()
        #expect(run.status == 1)
        #expect(run.stderr.contains("the token for 'bob' is shorter than 16 bytes"), "\(run.stderr)")
    }

    @Test func idsComeBackAsValuesNotText() throws {
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
