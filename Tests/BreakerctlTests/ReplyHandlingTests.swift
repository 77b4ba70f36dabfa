import BreakerTestSupport
import Foundation
import Testing

/// How breakerctl reads what a daemon says: through `ReplyDecoder`, following `not_leader`.
@Suite struct ReplyHandlingTests {
    @Test func aStandbysNotLeaderIsFollowedToTheLeaderItNames() async throws {
        let leader = try AdminDaemon(tokens: false)
        let leaderAddress = "127.0.0.1:\(leader.port)"
        let standby = try await ScriptedPeer { _, _, id in ScriptedPeer.notLeader(id: id, leader: leaderAddress) }
        defer { Task { await standby.stop() } }
        let result = try breakerctl(["inspect", "missing"], port: nil, environment: ["BREAKERD_ADDR": standby.address])
        #expect(result.status == 1, "the leader answered (not_found); the standby's not_leader was followed")
        #expect(result.stderr == "error: not_found: no breaker named 'missing'\n")
        #expect(standby.tally.lines.load(ordering: .relaxed) == 1)
    }

    @Test func aReplyOfTheWrongShapeIsAClearErrorNotAGuess() async throws {
        // A ping reply whose version is a number: valid JSON, not protocol v1.
        let peer = try await ScriptedPeer { _, _, id in #"{"ok":true,"id":\#(id),"version":5}"# }
        defer { Task { await peer.stop() } }
        let result = try breakerctl(["ping"], port: nil, environment: ["BREAKERD_ADDR": peer.address])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(result.stderr.hasPrefix("error: breakerd at \(peer.address) sent a reply breakerctl cannot read ("))
    }
}
