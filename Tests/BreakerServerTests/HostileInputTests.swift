import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// Replays `Tests/Fixtures/bad-lines/` (see `generate.py` there) against a real daemon. Each file
/// is one line named `<expected code>.<case>.line`: the reply must carry exactly that code, the
/// connection must stay usable (or, for `line_too_long`, be closed after the reply), and at the
/// end nothing about the daemon's breakers may have changed.
@Suite("Hostile input corpus")
struct HostileInputTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/bad-lines")

    static func cases() throws -> [(name: String, code: String, bytes: [UInt8])] {
        try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".line") }.sorted().map { name in
            let code = String(name.prefix { $0 != "." })
            let bytes = try [UInt8](Data(contentsOf: corpus.appendingPathComponent(name)))
            return (name, code.hasPrefix("fuzz-") ? "" : code, bytes)
        }
    }

    @Test func everyBadLineGetsItsExactCodeAndChangesNothing() async throws {
        let cases = try Self.cases()
        #expect(cases.count >= 300, "corpus at \(Self.corpus.path)")
        try await withDaemon { daemon in
            let setup = try daemon.client()
            _ = try setup.request(#"{"op":"configure","breaker":"existing","config":{"failure_threshold":3}}"#)
            _ = try setup.request(#"{"op":"record-failure","breaker":"existing","count":2}"#)
            _ = try setup.request(#"{"op":"should-attempt","breaker":"a"}"#)
            let before = try setup.request(#"{"op":"list"}"#)
            var failures = 0
            for (name, code, bytes) in cases {
                let client = try daemon.client()
                try client.sendRaw(bytes + [UInt8(ascii: "\n")])
                let reply = try client.readJSON()
                let got = reply["error"]?["code"]?.string
                if reply["ok"] != .bool(false) || (!code.isEmpty && got != code) || reply["error"]?["message"]?.string?.isEmpty != false {
                    failures += 1
                    Issue.record("\(name): expected \(code), got \(reply)")
                    continue
                }
                if code == "line_too_long" {
                    #expect(client.isClosedByPeer(), "\(name): connection left open after line_too_long")
                } else {
                    #expect(try client.request(#"{"op":"ping"}"#)["ok"] == .bool(true), "\(name): connection unusable")
                }
            }
            #expect(failures == 0)
            // The daemon survived and nothing changed: same breakers, same counts, same states.
            #expect(try daemon.client().request(#"{"op":"list"}"#) == before)
        }
    }
}
