import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// Lines are cut out of the read buffer in place by `ConnectionHandler`; however the bytes are
/// split across reads, the same lines come out, and the limit is exact.
@Suite("Line framing")
struct FramingTests {
    /// Each chunk is sent only after the reply that proves the daemon read the one before, so the
    /// reads are split where the chunks are: inside a line, and between a `\r` and its `\n`.
    @Test func linesSplitAcrossReadsAreReassembledInOrder() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.sendRaw(Array(#"{"op":"ping","id":1}"#.utf8) + [10] + Array(#"{"op":"pi"#.utf8))
            #expect(try c.readJSON()["id"] == .int(1))
            try c.sendRaw(Array(#"ng","id":2}"#.utf8) + [13, 10] + Array(#"{"op":"should-attempt","breaker":"split","id":3}"#.utf8) + [13])
            #expect(try c.readJSON()["id"] == .int(2))
            try c.sendRaw([10])
            let third = try c.readJSON()
            #expect(third["id"] == .int(3) && third["allow"] == .bool(true))
        }
    }

    @Test func byteByByteLinesAreAnswered() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            let lines = (1...5).map { #"{"op":"should-attempt","breaker":"bytes","id":\#($0)}"# + "\n" }.joined()
            for byte in Array(lines.utf8) { try c.sendRaw([byte]) }
            for id in 1...5 { #expect(try c.readJSON()["id"] == .int(Int64(id))) }
        }
    }

    @Test func aLineOfExactlyTheLimitIsAcceptedAndOneByteMoreIsNot() async throws {
        try await withDaemon(configure: { $0.maxLineLength = 64 }) { daemon in
            func ping(length: Int) -> String {
                let bare = #"{"op":"ping","id":""}"#
                return #"{"op":"ping","id":""# + String(repeating: "x", count: length - bare.utf8.count) + #""}"#
            }
            #expect(ping(length: 64).utf8.count == 64)
            let c = try daemon.client()
            try c.sendRaw(Array((ping(length: 64) + "\r\n" + ping(length: 64) + "\n").utf8))
            #expect(try c.readJSON()["ok"] == .bool(true))
            #expect(try c.readJSON()["ok"] == .bool(true))
            try c.sendRaw(Array((ping(length: 65) + "\n" + #"{"op":"ping"}"# + "\n").utf8))
            #expect(try c.readJSON()["error"]?["code"] == .string("line_too_long"))
            #expect(c.isClosedByPeer())
            // Unterminated and over the limit: refused without waiting for the newline.
            let d = try daemon.client()
            try d.sendRaw(Array(String(repeating: "y", count: 65).utf8))
            #expect(try d.readJSON()["error"]?["code"] == .string("line_too_long"))
            #expect(d.isClosedByPeer())
        }
    }
}
