import BreakerCore
import BreakerServer
import BreakerSync
import Testing

@Suite struct ManualClockTests {
    final class Fired: Sendable {
        let names = Mutex<[String]>([])
        func add(_ name: String) { names.withLock { $0.append(name) } }
        var all: [String] { names.withLock { $0 } }
    }

    @Test func advanceRunsWhatBecameDueInDeadlineOrderAndNothingEarly() {
        let start = Timestamp(millisecondsSinceEpoch: 1_000)
        let clock = ManualClock(now: start)
        let fired = Fired()
        clock.run(at: start.adding(milliseconds: 30)) { fired.add("c") }
        clock.run(at: start.adding(milliseconds: 10)) { fired.add("a") }
        clock.run(at: start.adding(milliseconds: 30)) { fired.add("d") }
        clock.run(at: start.adding(milliseconds: 20)) { fired.add("b") }

        clock.advance(by: .milliseconds(9))
        #expect(fired.all == [])
        clock.advance(by: .milliseconds(11))
        #expect(fired.all == ["a", "b"])
        #expect(clock.now() == start.adding(milliseconds: 20))
        #expect(clock.elapsed() == .milliseconds(20))
        clock.advance(by: .seconds(1))
        #expect(fired.all == ["a", "b", "c", "d"])
        #expect(clock.scheduledCount == 0)
    }

    @Test func workScheduledWhileAdvancingRunsInTheSameCallWhenAlreadyDue() {
        let clock = ManualClock(now: Timestamp(millisecondsSinceEpoch: 0))
        let fired = Fired()
        clock.run(at: Timestamp(millisecondsSinceEpoch: 5)) {
            fired.add("first")
            clock.run(at: Timestamp(millisecondsSinceEpoch: 8)) { fired.add("due") }
            clock.run(at: Timestamp(millisecondsSinceEpoch: 50)) { fired.add("later") }
        }
        clock.advance(by: .milliseconds(10))
        #expect(fired.all == ["first", "due"])
        #expect(clock.scheduledCount == 1)
    }
}
