import BreakerTestSupport
import BreakerWire
import Testing

/// `list` walks the registry off the event loop; the connection still answers in request order
/// and runs what follows a list only after it.
@Suite("list off the event loop")
struct ListOffLoopTests {
    @Test func pipelinedListThenDecisionsAnswerInOrder() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            for i in 0..<200 { try c.request(#"{"op":"should-attempt","breaker":"pre-\#(i)"}"#) }
            // One write: list, a decision creating a new breaker, a record, a list, a decision.
            let lines = [
                #"{"op":"list","id":1}"#,
                #"{"op":"should-attempt","breaker":"after-list","id":2}"#,
                #"{"op":"record-failure","breaker":"pre-7","id":3}"#,
                #"{"op":"list","prefix":"after-","id":4}"#,
                #"{"op":"should-attempt","breaker":"pre-1","id":5}"#,
            ]
            try c.sendRaw(Array((lines.joined(separator: "\n") + "\n").utf8))
            let replies = try (0..<lines.count).map { _ in try c.readJSON() }
            #expect(replies.map { $0["id"] } == (1...5).map { .int(Int64($0)) })
            #expect(replies.allSatisfy { $0["ok"] == .bool(true) })
            // The first list ran before the decision sent after it: 200 breakers, not 201.
            let first = try #require(replies[0]["breakers"]?.array)
            #expect(first.count == 200)
            #expect(first.first?["name"] == .string("pre-0"))
            // The second saw what was sent before it.
            let second = try #require(replies[3]["breakers"]?.array)
            #expect(second.map { $0["name"] } == [.string("after-list")])
            #expect(replies[4]["allow"] == .bool(true))
        }
    }

    @Test func listBeforeHalfCloseIsAnsweredWithWhatFollows() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            try c.sendRaw(Array((#"{"op":"list","id":1}"# + "\n" + #"{"op":"ping","id":2}"# + "\n").utf8))
            c.shutdownWrite()
            #expect(try c.readJSON()["id"] == .int(1))
            #expect(try c.readJSON()["id"] == .int(2))
            #expect(c.isClosedByPeer())
        }
    }

    @Test func aLargeListIsAnsweredWholeAndOthersStillAnswered() async throws {
        try await withDaemon { daemon in
            let c = try daemon.client()
            for i in 0..<2_000 { try c.request(#"{"op":"should-attempt","breaker":"many-\#(i)"}"#) }
            let other = try daemon.client()
            try c.send(#"{"op":"list","id":"big"}"#)
            #expect(try other.request(#"{"op":"ping"}"#)["ok"] == .bool(true))
            let listed = try c.readJSON()
            #expect(listed["id"] == .string("big"))
            #expect(listed["breakers"]?.array?.count == 2_000)
        }
    }
}
