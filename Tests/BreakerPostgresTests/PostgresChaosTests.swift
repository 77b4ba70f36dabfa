import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// PostgreSQL itself failing under client load (issue #14, "PostgreSQL away"): a restart, and a
/// failover to a synchronous streaming standby. Each test runs a PostgreSQL of its own, since it
/// stops the server, and three real daemons with `RecordLoad` clients recording with dedupe keys.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"),
       .serialized)
struct PostgresChaosTests {
    static let breakers = (0..<8).map { "chaos-\($0)" }

    /// Every acknowledged record is in the final state exactly once: each breaker's successful
    /// calls, as the serving leader reports them, equal the records acknowledged for it.
    static func expectEachAcknowledgedRecordCountedOnce(_ cluster: DaemonCluster, _ load: RecordLoad,
                                                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(load.failures.isEmpty, "\(load.failures)", sourceLocation: sourceLocation)
        let leader = try #require(cluster.soleLeader(within: 30), sourceLocation: sourceLocation)
        let acked = load.ackedPerBreaker
        for breaker in breakers {
            let reply = try cluster.request(leader, #"{"op":"inspect","breaker":"\#(breaker)"}"#)
            let counted = reply["breaker"]?["metrics"]?["successful_calls"]?.int
            #expect(counted == Int64(acked[breaker] ?? 0), "\(breaker): counted \(String(describing: counted)), acknowledged \(acked[breaker] ?? 0)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func restartedUnderLoadLosesNothingAcknowledgedAndALeaderServesWithinFiveSecondsOfItsReturn() throws {
        let pg = try PostgresCluster.dedicated()
        defer { pg.stop() }
        let cluster = try DaemonCluster(count: 3, postgres: pg)
        _ = try #require(cluster.soleLeader())
        let load = RecordLoad(ports: cluster.daemons.map(\.port), breakers: Self.breakers, workers: 6)
        load.start()
        #expect(eventually(within: 30) { load.acked >= 300 })

        try pg.stopServer(mode: "fast")
        // Nobody serves while it is down: every live daemon answers as a standby.
        #expect(eventually(within: 20) { cluster.daemons.indices.allSatisfy { cluster.role($0) == "standby" } })
        let ackedWhileDown = load.acked
        // Down long enough for the daemons' reconnect backoff to reach its ceiling (2 s).
        #expect(!eventually(within: 3) { load.acked > ackedWhileDown }, "a record was acknowledged without PostgreSQL")

        try pg.startServer()
        let back = ContinuousClock.now
        #expect(eventually(within: 30) { load.acked > ackedWhileDown })
        let servingAgain = ContinuousClock.now - back
        #expect(servingAgain < .seconds(5), "a leader served again \(servingAgain) after PostgreSQL was back")
        #expect(eventually(within: 30) { load.acked >= ackedWhileDown + 300 })
        #expect(load.stop())
        try Self.expectEachAcknowledgedRecordCountedOnce(cluster, load)
        print("PostgreSQL restart: \(load.acked) records acknowledged; a leader served \(servingAgain) after PostgreSQL was back; "
              + "refusals retried: \(load.refusalCodes)")
    }

    @Test func daemonsFollowAPromotedSynchronousStandbyByTheURLListAndLoseNothingAcknowledged() throws {
        let pg = try PostgresCluster.dedicated()
        defer { pg.stop() }
        let standby = try pg.standbyPort()
        try pg.makeStandbySynchronous()
        let cluster = try DaemonCluster(count: 3, postgres: pg, urls: { database in
            "postgres://postgres@127.0.0.1:\(pg.port)/\(database),postgres://postgres@127.0.0.1:\(standby)/\(database)"
        })
        _ = try #require(cluster.soleLeader())
        let load = RecordLoad(ports: cluster.daemons.map(\.port), breakers: Self.breakers, workers: 6)
        load.start()
        #expect(eventually(within: 30) { load.acked >= 300 })

        // The primary crashes; the daemons find only a standby in the list until it is promoted.
        try pg.stopServer(mode: "immediate")
        #expect(eventually(within: 20) { cluster.daemons.indices.allSatisfy { cluster.role($0) == "standby" } })
        let ackedBefore = load.acked
        try pg.promoteStandby()
        let promoted = ContinuousClock.now
        #expect(eventually(within: 30) { load.acked > ackedBefore })
        let servingAgain = ContinuousClock.now - promoted
        #expect(eventually(within: 30) { load.acked >= ackedBefore + 300 })
        #expect(load.stop())
        try Self.expectEachAcknowledgedRecordCountedOnce(cluster, load)
        print("standby promotion: \(load.acked) records acknowledged; a leader served \(servingAgain) after the promotion; "
              + "refusals retried: \(load.refusalCodes)")
    }
}
