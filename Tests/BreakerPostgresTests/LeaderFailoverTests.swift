import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// Three real breakerd processes on one throwaway PostgreSQL database (issue #14): one leader,
/// standbys that point at it, takeover after `kill -9` and after a freeze longer than the lease.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"),
       .serialized)
struct LeaderFailoverTests {
    @Test func exactlyOneLeaderStandbysNameItAndOnlyTheLeaderIsReady() throws {
        let cluster = try DaemonCluster(count: 3, documentedAddresses: true)
        let leader = try #require(cluster.soleLeader())
        let standbys = cluster.daemons.indices.filter { $0 != leader }
        let documented = try DaemonCluster.documentedNotLeaderReplies()
        #expect(documented.count == 2)

        // The leader serves every op.
        let decision = try cluster.request(leader, #"{"op":"should-attempt","breaker":"payments"}"#)
        #expect(decision["ok"]?.bool == true && decision["allow"]?.bool == true)

        for standby in standbys {
            // ping and hello are answered; hello says standby.
            #expect(try cluster.request(standby, #"{"op":"ping"}"#)["ok"]?.bool == true)
            #expect(cluster.role(standby) == "standby")
            // Every other op: not_leader, naming the leader's advertised address (standbys read
            // it from the published leaders table every try, so allow them a moment).
            #expect(eventually(within: 10) {
                let reply = try? cluster.request(standby, #"{"op":"should-attempt","breaker":"payments"}"#)
                return reply?["error"]?["leader"]?.string == cluster.address(leader)
            })
            let reply = try cluster.request(standby, #"{"op":"record-failure","breaker":"payments"}"#)
            #expect(reply["ok"]?.bool == false)
            #expect(reply["error"]?["code"]?.string == "not_leader")
            #expect(reply["error"]?["message"]?.string == "this breakerd is a standby; the leader is \(cluster.address(leader))")
            // PROTOCOL.md's example, literally (with this leader's address).
            let client = try cluster.client(standby)
            try client.send(#"{"op":"should-attempt","breaker":"payments-api","id":1}"#)
            #expect(try client.readLine() == documented.first?.replacingOccurrences(of: "10.0.0.1:7420", with: cluster.address(leader)))
            try client.send(#"{"op":"hello","client":"orders-7f9c"}"#)
            #expect(try client.readLine() == #"{"ok":true,"role":"standby"}"#)
        }
        let leaderClient = try cluster.client(leader)
        try leaderClient.send(#"{"op":"hello","client":"orders-7f9c"}"#)
        #expect(try leaderClient.readLine() == #"{"ok":true,"role":"leader"}"#)

        // /readyz: 200 on the leader only; /healthz: 200 on all.
        #expect(cluster.readyz(leader) == 200)
        for standby in standbys { #expect(cluster.readyz(standby) == 503) }
        for index in cluster.daemons.indices { #expect(cluster.healthz(index) == 200) }

        // The metrics say who leads.
        let leaderMetrics = try HTTPTestClient.get("/metrics", port: cluster.daemons[leader].httpPort).text
        #expect(leaderMetrics.contains("\nbreakerd_leader 1"))
        #expect(leaderMetrics.contains("\nbreakerd_leader_changes_total 1"))
        let standbyMetrics = try HTTPTestClient.get("/metrics", port: cluster.daemons[standbys[0]].httpPort).text
        #expect(standbyMetrics.contains("\nbreakerd_leader 0"))
        // Hot standbys: each holds the breaker the leader stored (a decision alone stores
        // nothing; a record does), the leader no copy.
        #expect(leaderMetrics.contains("\nbreakerd_standby_copy_breakers 0\n")
                || leaderMetrics.contains("\nbreakerd_standby_copy_breakers 0.0\n"))
        _ = try cluster.request(leader, #"{"op":"record-failure","breaker":"payments"}"#)
        for standby in standbys { #expect(cluster.copied(standby, reaches: 1)) }
    }

    @Test func afterKill9AStandbyServesWithinThreeSecondsWithTheStateCarriedOver() throws {
        let cluster = try DaemonCluster(count: 3)
        let leader = try #require(cluster.soleLeader())

        // An open breaker with a long deadline, a forced open, a history and a dedupe key.
        let client = try cluster.client(leader)
        _ = try client.request(#"{"op":"configure","breaker":"db","config":{"failure_threshold":1,"timeout_ms":600000}}"#)
        // The standbys copy the closed breaker; what follows reaches the successor as changes
        // read after its copy.
        for standby in cluster.daemons.indices where standby != leader { #expect(cluster.copied(standby, reaches: 1)) }
        let opened = try client.request(#"{"op":"record-failure","breaker":"db","dedupe":"k-1"}"#)
        #expect(opened["state"]?.string == "open")
        let generation = try #require(opened["generation"]?.int)
        let before = try client.request(#"{"op":"should-attempt","breaker":"db"}"#)
        let retryBefore = try #require(before["retry_after_ms"]?.int)
        _ = try client.request(#"{"op":"force-open","breaker":"maintenance","reason":"upgrade"}"#)

        cluster.daemons[leader].kill(SIGKILL)
        // A standby serves within 3 s: a decision answered, not not_leader.
        let (successor, takeover) = try #require(cluster.firstToServe(excluding: leader, since: .now))
        #expect(takeover < .seconds(3), "takeover took \(takeover)")

        let after = try cluster.client(successor)
        let decision = try after.request(#"{"op":"should-attempt","breaker":"db"}"#)
        #expect(decision["allow"]?.bool == false)
        #expect(decision["state"]?.string == "open")
        #expect(decision["generation"]?.int == generation)
        // The same deadline, less the time that passed (not a fresh 10 minutes).
        let retryAfter = try #require(decision["retry_after_ms"]?.int)
        #expect(retryAfter <= retryBefore && retryAfter > retryBefore - 30_000)
        // The dedupe key: a resend of the same record is not counted again.
        let resent = try after.request(#"{"op":"record-failure","breaker":"db","dedupe":"k-1"}"#)
        #expect(resent["generation"]?.int == generation)
        let inspect = try after.request(#"{"op":"inspect","breaker":"maintenance"}"#)
        #expect(inspect["breaker"]?["state"]?.string == "forced_open")
        let history = try after.request(#"{"op":"history","breaker":"db"}"#)
        #expect(history["transitions"]?.array?.first?["to"]?.string == "open")
        // The third daemon now names the successor.
        let third = try #require(cluster.daemons.indices.first { $0 != leader && $0 != successor })
        #expect(eventually(within: 10) {
            (try? cluster.request(third, #"{"op":"inspect","breaker":"db"}"#))?["error"]?["leader"]?.string
                == cluster.address(successor)
        })
        #expect(cluster.readyz(successor) == 200)
        #expect(cluster.readyz(third) == 503)
    }

    @Test func aLeaderFrozenLongerThanTheLeaseIsReplacedAndAcknowledgesNothingAfterItWakes() throws {
        let cluster = try DaemonCluster(count: 3)
        let leader = try #require(cluster.soleLeader())
        // A connection to the old leader made while it led, kept across the freeze.
        let old = try cluster.client(leader, timeoutSeconds: 10)
        #expect(try old.request(#"{"op":"record-failure","breaker":"db"}"#)["ok"]?.bool == true)

        // Frozen: a successor can lead only once PostgreSQL ended the frozen session, after its
        // idle timeout (the lease, 2 s) — so the freeze lasts longer than the lease.
        kill(cluster.daemons[leader].process.processIdentifier, SIGSTOP)
        let successor = try #require(cluster.soleLeader(within: 20, excluding: [leader]))
        #expect(successor != leader)
        #expect(try cluster.request(successor, #"{"op":"record-failure","breaker":"db"}"#)["ok"]?.bool == true)
        // Requests sent while it is frozen wait in its socket: it reads them the moment it wakes,
        // before its election thread has noticed anything. Its lease ran out by its own clock,
        // so every one is refused (or the connection closed) — decisions included.
        let waiting = 20
        for _ in 0..<waiting { try? old.send(#"{"op":"should-attempt","breaker":"db"}"#) }
        kill(cluster.daemons[leader].process.processIdentifier, SIGCONT)
        var answered = 0
        while answered < waiting, let reply = try? old.readJSON() {
            answered += 1
            #expect(reply["ok"]?.bool == false)
            #expect(reply["error"]?["code"]?.string == "not_leader")
        }
        // And it comes back as a standby that names the new leader.
        #expect(eventually(within: 15) { cluster.role(leader) == "standby" })
        #expect(eventually(within: 10) {
            (try? cluster.request(leader, #"{"op":"should-attempt","breaker":"db"}"#))?["error"]?["leader"]?.string
                == cluster.address(successor)
        })
        #expect(cluster.soleLeader(within: 5) == successor)
    }
}

/// PostgreSQL away for this cluster's database: every session ended and no new one admitted
/// (`ALLOW_CONNECTIONS false`, which touches no other test's database), then back.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct PostgresAwayTests {
    @Test func theLeaderStepsDownEveryDaemonIsUnreadyAndALeaderReturnsWhenPostgreSQLDoes() throws {
        let pg = try PostgresCluster.get()
        let cluster = try DaemonCluster(count: 3)
        let leader = try #require(cluster.soleLeader())
        #expect(try cluster.request(leader, #"{"op":"record-failure","breaker":"db"}"#)["ok"]?.bool == true)

        try pg.sql("ALTER DATABASE \(cluster.databaseName) ALLOW_CONNECTIONS false")
        try pg.sql("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname = '\(cluster.databaseName)'")
        // No daemon serves: all answer as standbys, none is ready, all are alive.
        #expect(eventually(within: 15) {
            cluster.daemons.indices.allSatisfy { cluster.role($0) == "standby" && cluster.readyz($0) == 503 }
        })
        let refused = try cluster.request(leader, #"{"op":"should-attempt","breaker":"db"}"#)
        #expect(refused["error"]?["code"]?.string == "not_leader")
        for index in cluster.daemons.indices { #expect(cluster.healthz(index) == 200) }
        let metrics = try HTTPTestClient.get("/metrics", port: cluster.daemons[leader].httpPort).text
        #expect(metrics.contains("\nbreakerd_leader 0"))
        #expect(metrics.contains("\nbreakerd_leader_changes_total 2"))

        try pg.sql("ALTER DATABASE \(cluster.databaseName) ALLOW_CONNECTIONS true")
        let next = try #require(cluster.soleLeader(within: 20))
        #expect(eventually(within: 10) { cluster.readyz(next) == 200 })
        // The record acknowledged before is there.
        let inspect = try cluster.request(next, #"{"op":"inspect","breaker":"db"}"#)
        #expect(inspect["breaker"]?["failure_count"]?.int == 1)
    }
}
