import BreakerCore
import BreakerServer
import BreakerStore
import BreakerWire
import Foundation
import Logging
import Testing

/// The cluster role as a value, driven by a `ManualClock`: no sockets, no PostgreSQL.
@Suite struct LeaderRoleMachineTests {
    let clock = ManualClock()
    let timing = LeaderRoleMachine.Timing(lease: .seconds(2))

    /// A machine that connected, won the lock, loaded and confirmed: a serving leader.
    func leader() -> LeaderRoleMachine {
        var machine = LeaderRoleMachine(timing: timing, now: clock.elapsed())
        #expect(machine.tick(now: clock.elapsed()) == [.connect])
        #expect(machine.connected(now: clock.elapsed()) == [.tryAcquire])
        #expect(machine.acquired(confirmed: clock.elapsed()) == [.load])
        clock.advance(by: .milliseconds(300))  // loading took a while
        #expect(machine.loaded(now: clock.elapsed()) == [.renew])
        #expect(machine.renewed(confirmed: clock.elapsed()) == [.serve(until: clock.elapsed() + .seconds(2))])
        return machine
    }

    @Test func aStandbyTriesTheLockEvery500ms() {
        var machine = LeaderRoleMachine(timing: timing, now: clock.elapsed())
        _ = machine.tick(now: clock.elapsed())
        #expect(machine.connected(now: clock.elapsed()) == [.tryAcquire])
        #expect(machine.refused(now: clock.elapsed()) == [])
        clock.advance(by: .milliseconds(499))
        #expect(machine.tick(now: clock.elapsed()) == [])
        clock.advance(by: .milliseconds(1))
        #expect(machine.nextWakeUp == clock.elapsed())
        #expect(machine.tick(now: clock.elapsed()) == [.tryAcquire])
        #expect(!machine.isLeading(at: clock.elapsed()))
    }

    @Test func aLeaderRenewsEveryQuarterLeaseAndServesUpToTheLastConfirmationPlusTheLease() {
        var machine = leader()
        let confirmed = clock.elapsed()
        #expect(machine.isLeading(at: clock.elapsed()))
        clock.advance(by: .milliseconds(499))
        #expect(machine.tick(now: clock.elapsed()) == [])
        clock.advance(by: .milliseconds(1))
        #expect(machine.tick(now: clock.elapsed()) == [.renew])
        // A renewal's confirmation is the reading taken before the round trip, not after it.
        let before = clock.elapsed()
        clock.advance(by: .milliseconds(40))
        #expect(machine.renewed(confirmed: before) == [.serve(until: before + .seconds(2))])
        #expect(before > confirmed)
    }

    @Test func aLeaderWhoseRenewalsStallStepsDownOnceTheLeaseIsOlderThanTheLease() {
        var machine = leader()
        let confirmed = clock.elapsed()
        // The renewal is due, but PostgreSQL does not answer: no confirmation comes.
        clock.advance(by: .milliseconds(1999))
        #expect(machine.isLeading(at: clock.elapsed()))
        #expect(machine.tick(now: clock.elapsed()) == [.renew])
        clock.advance(by: .milliseconds(1))
        #expect(clock.elapsed() - confirmed == .seconds(2))
        #expect(!machine.isLeading(at: clock.elapsed()))
        #expect(machine.tick(now: clock.elapsed()) == [.stepDown])
        // Never the old session again: a new one, at once.
        #expect(machine.state == .disconnected(retryAt: clock.elapsed(), failures: 0))
        #expect(machine.tick(now: clock.elapsed()) == [.connect])
    }

    @Test func aFailedRenewalStepsDownAtOnce() {
        var machine = leader()
        clock.advance(by: .milliseconds(500))
        #expect(machine.tick(now: clock.elapsed()) == [.renew])
        #expect(machine.renewFailed(now: clock.elapsed()) == [.stepDown])
        #expect(machine.tick(now: clock.elapsed()) == [.connect])
    }

    @Test func aLateConfirmationNeverMovesTheLeaseBackwards() {
        var machine = leader()
        let confirmed = clock.elapsed()
        #expect(machine.renewed(confirmed: confirmed - .milliseconds(100)) == [.serve(until: confirmed + .seconds(2))])
    }

    @Test func loadingThatOutlivesTheLeaseStepsDownAndAFailedLoadToo() {
        var machine = LeaderRoleMachine(timing: timing, now: clock.elapsed())
        _ = machine.tick(now: clock.elapsed())
        _ = machine.connected(now: clock.elapsed())
        #expect(machine.acquired(confirmed: clock.elapsed()) == [.load])
        #expect(!machine.isLeading(at: clock.elapsed()))  // nothing is served while loading
        clock.advance(by: .seconds(2))
        #expect(machine.tick(now: clock.elapsed()) == [.stepDown])

        _ = machine.tick(now: clock.elapsed())
        _ = machine.connected(now: clock.elapsed())
        _ = machine.acquired(confirmed: clock.elapsed())
        #expect(machine.loadFailed(now: clock.elapsed()) == [.stepDown])
    }

    @Test func unreachablePostgreSQLIsRetriedWithAGrowingJitteredBackoff() {
        var machine = LeaderRoleMachine(timing: timing, now: clock.elapsed(), seed: 42)
        var waits: [Duration] = []
        for _ in 0..<8 {
            #expect(machine.tick(now: clock.elapsed()) == [.connect])
            #expect(machine.connectFailed(now: clock.elapsed()) == [])
            let wait = machine.nextWakeUp - clock.elapsed()
            waits.append(wait)
            clock.advance(by: wait - .milliseconds(1))
            #expect(machine.tick(now: clock.elapsed()) == [])
            clock.advance(by: .milliseconds(1))
        }
        // Each wait lies in the upper half of 250 ms doubled per failure, capped at 2 s.
        let ceilings: [Duration] = [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(2), .seconds(2),
                                    .seconds(2), .seconds(2)]
        for (wait, ceiling) in zip(waits, ceilings) {
            #expect(wait >= ceiling / 2 && wait <= ceiling, "\(wait) not within \(ceiling / 2)...\(ceiling)")
        }
        #expect(Set(waits.suffix(5)).count > 1, "the capped waits are jittered")
        // Connected again: the next failure starts from the first backoff.
        #expect(machine.tick(now: clock.elapsed()) == [.connect])
        _ = machine.connected(now: clock.elapsed())
        #expect(machine.acquireFailed(now: clock.elapsed()) == [.dropSession])
        #expect(machine.nextWakeUp - clock.elapsed() <= .milliseconds(250))
    }
}

/// The gate every request passes (`BreakerRegistry.handle`), on a registry over SQLite and a
/// `ManualClock`: what a standby and a leader whose lease ran out answer.
@Suite struct LeaderGateTests {
    @Test func aClosedGateAnswersOnlyPingAndHelloAndNamesTheLeader() throws {
        let directory = TestDaemon.makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock()
        let leader = KnownLeader()
        let gate = LeaderGate(leader: leader)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let registry = try BreakerRegistry(storage: BreakerDatabase(path: directory + "/b.sqlite3", logger: logger),
                                           settings: .init(), clock: clock, gate: gate, logger: logger)
        defer { registry.shutdown() }
        let caller = Caller(actor: nil, reporter: nil)
        func error(_ command: Command) -> WireError? {
            if case .error(let error) = registry.handle(command, caller: caller) { return error }
            return nil
        }

        #expect(error(.shouldAttempt(breaker: "db")) == WireError(.notLeader, "this breakerd is a standby and no leader is known yet; retry shortly"))
        leader.set("10.0.0.7:7420")
        #expect(error(.shouldAttempt(breaker: "db"))?.leader == "10.0.0.7:7420")
        // Admin ops too, before any check of the token: a standby knows nothing to authorize.
        #expect(error(.reset(breaker: "db"))?.code == .notLeader)
        guard case .reply(.pong) = registry.handle(.ping, caller: caller) else { Issue.record("ping"); return }
        guard case .connectionOp(.hello(_, .standby)) = registry.handle(.hello(client: "a"), caller: caller) else {
            Issue.record("hello on a standby"); return
        }

        // Open until 2 s on the clock: served, and hello says leader; at 2 s, refused again.
        gate.openUntil(clock.elapsed() + .seconds(2))
        #expect(error(.shouldAttempt(breaker: "db")) == nil)
        guard case .connectionOp(.hello(_, .leader)) = registry.handle(.hello(client: "a"), caller: caller) else {
            Issue.record("hello on a leader"); return
        }
        clock.advance(by: .milliseconds(1999))
        #expect(error(.shouldAttempt(breaker: "db")) == nil)
        clock.advance(by: .milliseconds(1))
        #expect(error(.shouldAttempt(breaker: "db"))?.code == .notLeader)

        // Closed for good: a late confirmation cannot reopen an ended term.
        gate.openUntil(clock.elapsed() + .seconds(2))
        #expect(error(.shouldAttempt(breaker: "db")) == nil)
        gate.close()
        gate.openUntil(clock.elapsed() + .seconds(10))
        #expect(error(.shouldAttempt(breaker: "db"))?.code == .notLeader)
    }

    @Test func notLeaderCarriesTheLeaderOnTheWireAndLeavesItOutWhenUnknown() throws {
        let known = ReplyEncoder.encode(WireError(.notLeader, "m", leader: "10.0.0.7:7420"), id: nil)
        #expect(String(decoding: known, as: UTF8.self)
                == #"{"ok":false,"error":{"code":"not_leader","message":"m","leader":"10.0.0.7:7420"}}"# + "\n")
        let unknown = ReplyEncoder.encode(WireError(.notLeader, "m"), id: nil)
        #expect(String(decoding: unknown, as: UTF8.self) == #"{"ok":false,"error":{"code":"not_leader","message":"m"}}"# + "\n")
        let decoded = try ReplyDecoder.decode(String(decoding: known, as: UTF8.self), expecting: .decision)
        #expect(decoded == .error(id: nil, WireError(.notLeader, "m", leader: "10.0.0.7:7420")))
        #expect(String(decoding: ReplyEncoder.encode(.hello(role: .standby), id: nil), as: UTF8.self)
                == #"{"ok":true,"role":"standby"}"# + "\n")
    }
}
