import BreakerServer
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// What a connection's transport must get right, checked on both: the daemon's own epoll loops
/// (the default for plain TCP on Linux) and NIO channels (TLS, and `--io nio`). The rest of the
/// suite runs on the default one.
@Suite("Transports: epoll and NIO")
struct TransportTests {
    @Test func plainTCPUsesTheConfiguredTransportAndEpollByDefault() async throws {
        #if os(Linux)
        #expect(BreakerServer.Configuration().io == .epoll)
        #endif
        for io in BreakerServer.IO.allCases {
            try await withDaemon(configure: { $0.io = io }) { (daemon: TestDaemon) async throws in
                #expect(daemon.server.io == io)
                #expect(try daemon.client().request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            }
        }
    }

    @Test(arguments: BreakerServer.IO.allCases)
    func aPeerThatResetsItsConnectionLeavesTheOthersServed(io: BreakerServer.IO) async throws {
        try await withDaemon(configure: { $0.io = io }) { daemon in
            let bystander = try daemon.client()
            #expect(try bystander.request(#"{"op":"record-failure","breaker":"r"}"#)["ok"] == .bool(true))
            let failures = { try bystander.request(#"{"op":"inspect","breaker":"r"}"#)["breaker"]?["metrics"]?["failed_calls"]?.int }
            for round in 1...20 {
                // Requests sent and run (their replies unread), then a reset (SO_LINGER 0)
                // instead of a FIN.
                let fd = try connectTCP(host: "127.0.0.1", port: daemon.port, timeoutSeconds: 5)
                let lines = String(repeating: #"{"op":"record-failure","breaker":"r"}"# + "\n", count: 50)
                _ = lines.utf8CString.withUnsafeBytes { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
                #expect(try eventually { try failures() == Int64(1 + round * 50) })
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                close(fd)
            }
            #expect(try bystander.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            #expect(try daemon.client().request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            // Every record the reset connections sent was counted exactly once, and nothing else.
            #expect(try failures() == Int64(1 + 20 * 50))
        }
    }

    @Test(arguments: BreakerServer.IO.allCases)
    func repliesBeyondTheSocketBuffersReachASlowReaderInFullAndInOrder(io: BreakerServer.IO) async throws {
        try await withDaemon(configure: { $0.io = io }) { daemon in
            let client = try daemon.client()
            // ~9 MB of replies (each echoes a 200-byte id): far beyond the socket buffers and the
            // 256 KiB high-water mark, so the daemon must hold replies back, stop reading, and
            // resume as the reader catches up, without losing or reordering any.
            let pad = String(repeating: "p", count: 200)
            let count = 30_000
            let batch = Array((0..<count).map { #"{"op":"should-attempt","breaker":"big","id":"\#(pad)-\#($0)"}"# + "\n" }.joined().utf8)
            // The sender blocks until the reader reads: it gets a thread of its own, and the reader
            // holds its thread from here to the end. With the sender blocked in a task on one of
            // Swift's 2 cooperative threads and the reader suspended in Task.sleep, waiting for the
            // other, a loaded CI run stalled here for minutes, past the daemon's 300 s idle timeout
            // (which closes a connection it stopped reading: "the daemon closed the connection").
            // All replies read prove the send complete.
            let sender = client.sender
            Thread { try? sender.send(batch) }.start()
            usleep(300_000)  // the reader is late
            for i in 0..<count {
                let reply = try client.readJSON()
                guard reply["allow"] == .bool(true), reply["id"] == .string("\(pad)-\(i)") else {
                    Issue.record("reply \(i): \(reply)")
                    break
                }
            }
            #expect(try client.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
        }
    }

    @Test(arguments: BreakerServer.IO.allCases)
    func theLastReplyBeforeAClosingSurvivesInputTheDaemonNeverRead(io: BreakerServer.IO) async throws {
        try await withDaemon(configure: { $0.io = io; $0.maxLineLength = 1024 }) { daemon in
            let client = try daemon.client()
            // 1 MB of one endless line: the daemon answers line_too_long after 1 KiB and closes,
            // with most of it still unread. A plain close would then send a reset, which can
            // destroy the reply before the client reads it; the daemon must close with a FIN.
            try client.sendRaw(Array(repeating: UInt8(ascii: "x"), count: 1_000_000))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try client.readJSON()["error"]?["code"] == .string("line_too_long"))
            #expect(client.isClosedByPeer())
        }
    }

    @Test(arguments: BreakerServer.IO.allCases)
    func aHalfCloseAnswersEveryLineReadThenCloses(io: BreakerServer.IO) async throws {
        try await withDaemon(configure: { $0.io = io }) { daemon in
            let client = try daemon.client()
            try client.sendRaw(Array((#"{"op":"record-failure","breaker":"h","id":1}"# + "\n" + #"{"op":"ping","id":2}"# + "\n"
                + #"{"op":"record-failure","breaker":"h","id":3}"#).utf8))
            client.shutdownWrite()
            // The unterminated last line counts: the client ended its input.
            #expect(try client.readJSON()["id"] == .int(1))
            #expect(try client.readJSON()["id"] == .int(2))
            let last = try client.readJSON()
            #expect(last["id"] == .int(3) && last["ok"] == .bool(true))
            #expect(client.isClosedByPeer())
            let inspected = try daemon.client().request(#"{"op":"inspect","breaker":"h"}"#)
            #expect(inspected["breaker"]?["metrics"]?["failed_calls"] == .int(2))
        }
    }

    @Test(arguments: BreakerServer.IO.allCases)
    func stopClosesOpenConnectionsAndGracefulShutdownAnswersFirst(io: BreakerServer.IO) async throws {
        try await withDaemon(configure: { $0.io = io }) { daemon in
            let patient = try daemon.client()
            #expect(try patient.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            try patient.send(#"{"op":"record-failure","breaker":"g","id":7}"#)
            // Give the line time to be read: a graceful stop answers what was read.
            #expect(eventually { daemon.registry.breakerCount == 1 })
            let forced = await daemon.server.shutdownGracefully(timeout: .seconds(5))
            #expect(forced == 0)
            #expect(try patient.readJSON()["id"] == .int(7))
            #expect(patient.isClosedByPeer())
        }
        try await withDaemon(configure: { $0.io = io }) { daemon in
            let client = try daemon.client()
            #expect(try client.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            await daemon.server.stop()
            #expect(client.isClosedByPeer())
            #expect(throws: (any Error).self) { try LineClient(port: daemon.port, timeoutSeconds: 1) }
        }
    }
}
