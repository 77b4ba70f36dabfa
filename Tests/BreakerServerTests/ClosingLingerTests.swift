@testable import BreakerServer
import Testing

@Suite("ClosingLinger and OpenCount: closing and shutdown without sockets or polling")
struct ClosingLingerTests {
    @Test func afterTheLastReplyOurSideShutsAndInputIsDroppedUntilThePeerCloses() {
        var linger = ClosingLinger(duration: .seconds(2))
        #expect(!linger.dropsInput)
        #expect(linger.lastReplyWritten(peerInputEnded: false, now: 1_000) == .shutOutputAndDrain(deadline: 2_000_001_000))
        #expect(linger.dropsInput)
        #expect(linger.lastReplyWritten(peerInputEnded: false, now: 2_000) == .none)  // once
        #expect(linger.tick(now: 2_000_000_999) == .none)
        #expect(linger.peerClosed() == .close)
        #expect(linger.state == .closed)
    }

    @Test func aLingerPastItsDeadlineCloses() {
        var linger = ClosingLinger(duration: .milliseconds(250))
        _ = linger.lastReplyWritten(peerInputEnded: false, now: 0)
        #expect(linger.tick(now: 250_000_000) == .close)
        #expect(linger.peerClosed() == .none)
    }

    @Test func aPeerThatAlreadyClosedItsSideNeedsNoLinger() {
        var linger = ClosingLinger(duration: .seconds(2))
        #expect(linger.lastReplyWritten(peerInputEnded: true, now: 0) == .close)
        #expect(linger.tick(now: .max) == .none)
    }

    @Test func waitersWakeWhenTheCountReachesZeroAndNotBefore() async {
        let open = OpenCount()
        #expect(await open.waitForZero(timeout: .seconds(10)))  // nothing open: at once
        open.increment()
        open.increment()
        async let drained = open.waitForZero(timeout: .seconds(10))
        open.decrement()
        #expect(open.value == 1)
        open.decrement()
        #expect(await drained)
    }

    @Test func aWaiterGivesUpAtItsDeadline() async {
        let open = OpenCount()
        open.increment()
        #expect(await open.waitForZero(timeout: .milliseconds(20)) == false)
        #expect(open.value == 1)
    }
}
