import BreakerCore
import BreakerClient
import BreakerServer
import BreakerTestSupport
import Testing

extension BreakerClientTests {
    /// What makes a healthy fleet cheap for the daemon: answers held until pushed while the
    /// watch stream's heartbeats arrive, successes summed and sent together.
    @Suite struct FleetScale {
        /// Both clocks are manual: the daemon pushes a heartbeat only when its clock passes one,
        /// and the client judges the stream by its own clock.
        private func withHeldAnswers(_ body: (ClientTestDaemon, BreakerClient, ManualClock, ManualClock) async throws -> Void) async throws {
            let daemonClock = ManualClock(), clientClock = ManualClock()
            let daemon = try await ClientTestDaemon.start(cacheMs: 40, clock: daemonClock)
            let client = try await BreakerClient(configuration: testConfiguration(port: daemon.port) {
                $0.clock = .manual(clientClock)
                $0.watchHeartbeat = .milliseconds(100)
            })
            do {
                try await body(daemon, client, daemonClock, clientClock)
            } catch {
                await client.shutdown()
                await daemon.stop()
                throw error
            }
            await client.shutdown()
            await daemon.stop()
        }

        /// Advances the daemon's clock by one heartbeat interval and waits until the client heard it.
        private func heartbeat(_ daemonClock: ManualClock, _ client: BreakerClient) async throws {
            let heard = client.statistics.watchHeartbeats
            daemonClock.advance(by: .milliseconds(100))
            #expect(await eventually(within: patience) { client.statistics.watchHeartbeats > heard })
        }

        @Test func aHeldAnswerOutlivesItsCacheMsWhileHeartbeatsArrive() async throws {
            try await withHeldAnswers { _, client, daemonClock, clientClock in
                let db = client.breaker("db")
                try await heartbeat(daemonClock, client)
                try await db.attempt().succeeded()
                for _ in 0..<5 {  // 750 ms of client time: 18 times the 40 ms cache_ms
                    clientClock.advance(by: .milliseconds(150))
                    try await heartbeat(daemonClock, client)
                    try await db.attempt().succeeded()
                }
                #expect(client.statistics.decisionRequests == 1)
            }
        }

        @Test func withoutRecentHeartbeatsAHeldAnswerExpiresAtItsCacheMs() async throws {
            try await withHeldAnswers { _, client, daemonClock, clientClock in
                let db = client.breaker("db")
                try await heartbeat(daemonClock, client)
                try await db.attempt().succeeded()
                clientClock.advance(by: .milliseconds(150))
                try await db.attempt().succeeded()  // held: the last heartbeat is 150 ms old
                clientClock.advance(by: .milliseconds(51))
                try await db.attempt().succeeded()  // 201 ms: more than twice the interval
                #expect(client.statistics.decisionRequests == 2)
            }
        }

        @Test func aResetOfTheClosedBreakerEndsAHeldAnswer() async throws {
            try await withHeldAnswers { daemon, client, daemonClock, _ in
                let db = client.breaker("db")
                try await heartbeat(daemonClock, client)
                try await db.attempt().succeeded()
                try daemon.line().request(#"{"op":"reset","breaker":"db"}"#)
                #expect(await eventually(within: patience) { client.statistics.pushedResets == 1 })
                try await db.attempt().succeeded()
                #expect(client.statistics.decisionRequests == 2, "the new generation was asked for")
            }
        }

        @Test func successesOfSeveralBreakersAreSummedAndSentTogether() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                let names = ["a", "b", "c"]
                for name in names {
                    let breaker = client.breaker(name)
                    for _ in 0..<20 { try await breaker.attempt().succeeded() }
                }
                #expect(await client.flush(timeout: patience))
                let stats = client.statistics
                #expect([stats.recordsSent, stats.outcomesSent, stats.recordsAcknowledged] == [3, 60, 3])
                for name in names {
                    #expect(try daemon.line().request(#"{"op":"inspect","breaker":"\#(name)"}"#)["breaker"]?["metrics"]?["successful_calls"] == .int(20))
                }
            }
        }

        @Test func aFailureSendsItsBreakersSuccessesFirstAndGoesAtOnce() async throws {
            // The client clock never reaches the fold's flush, and an hour's window keeps the
            // pipeline's timer (which runs in real time, once per window) from sending a failure
            // that did not go at once.
            let clock = ManualClock()
            try await withDaemonAndClient(cacheMs: 60_000, {
                $0.clock = .manual(clock)
                $0.successFlush = .seconds(3600)
            }) { daemon, client in
                try daemon.configure("db", #"{"failure_threshold":1}"#)
                let db = client.breaker("db")
                for _ in 0..<5 { try await db.attempt().succeeded() }
                try await db.attempt().failed()
                #expect(try await eventually(within: patience) {
                    try daemon.line().request(#"{"op":"inspect","breaker":"db"}"#)["breaker"]?["state"] == .string("open")
                })
                let metrics = try daemon.line().request(#"{"op":"inspect","breaker":"db"}"#)["breaker"]?["metrics"]
                #expect(metrics?["successful_calls"] == .int(5))
                #expect(metrics?["failed_calls"] == .int(1))
            }
        }
    }
}

extension BreakerClientTests.FleetScale {
    /// Hundreds of breakers with long names flush together: the lines stay inside the daemon's
    /// line limit (a longer one would be refused whole), and every outcome is counted.
    @Test func aLargeFlushIsSplitIntoLinesTheDaemonAccepts() async throws {
        // One record connection with room for all, and a clock that stands still: every
        // success waits for the one flush below, which sends ~160 KB of records at once.
        let clock = ManualClock()
        try await withDaemonAndClient(cacheMs: 60_000, {
            $0.clock = .manual(clock)
            $0.recordConnections = 1
            $0.maxInFlightRecords = 1_000
        }) { daemon, client in
            let names = (0..<600).map { "fleet-" + String(repeating: "x", count: 185) + "-\($0)" }
            for name in names { try await client.breaker(name).attempt().succeeded() }
            #expect(await client.flush(timeout: patience))
            let stats = client.statistics
            #expect([stats.recordsSent, stats.recordsAcknowledged, stats.recordsRejected, stats.recordsLost] == [600, 600, 0, 0])
            let listed = try daemon.line().request(#"{"op":"list","prefix":"fleet-"}"#)["breakers"]?.array
            #expect(listed?.count == 600)
            #expect(listed?.allSatisfy { $0["metrics"]?["successful_calls"] == .int(1) } == true)
        }
    }
}

extension BreakerClientTests.FleetScale {
    /// A connection that hears from the daemon needs no keepalive: the watch connection, whose
    /// heartbeats arrive, is never pinged; a record connection that hears nothing is.
    @Test func onlyASilentConnectionIsPinged() async throws {
        let peer = try await ScriptedPeer()
        let client = try await BreakerClient(configuration: testConfiguration(port: peer.port) {
            $0.heartbeatInterval = .milliseconds(100)
            $0.watchHeartbeat = .milliseconds(100)  // the watch is pinged after 200 ms of silence
        })
        // Three pings on the silent record connection take 300 ms: the watch connection would
        // have had its own by then, were it pinged on a timer rather than after silence.
        let pinged = await eventually(within: patience) { peer.tally.otherPings.load(ordering: .relaxed) >= 3 }
        let watchPings = peer.tally.watchPings.load(ordering: .relaxed)
        await client.shutdown()
        await peer.stop()
        #expect(pinged)
        #expect(watchPings == 0)
    }
}
