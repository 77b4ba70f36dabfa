@testable import BreakerServer
import NIOCore
import Testing

/// The connection's decisions, without a socket: each event in, the action out.
@Suite("ConnectionStateMachine")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func output(_ m: inout Machine) -> String? {
        m.takeOutput().map { String(buffer: $0) }
    }

    @Test func repliesGoOutInRequestOrderWhateverOrderTheyAreReadyIn() {
        var m = Machine(maxInFlight: 10)
        let waiting = m.reserve()               // a record, waiting for its commit
        m.reply(bytes("b\n"), isWritable: true)  // a decision after it, ready at once
        #expect(m.drain(isWritable: true, flush: true) == .none)
        #expect(output(&m) == nil)
        m.fill(waiting, bytes("a\n"))
        #expect(m.drain(isWritable: true, flush: true) == .write(flush: true))
        #expect(output(&m) == "a\nb\n")
        #expect(m.outstanding == 0)
    }

    @Test func aReadyReplyWithNothingOwedBeforeItGoesStraightOut() {
        var m = Machine(maxInFlight: 10)
        m.reply(bytes("x\n"), isWritable: true)
        #expect(m.outstanding == 0)
        #expect(output(&m) == "x\n")
        // Not writable: it waits in its slot.
        m.reply(bytes("y\n"), isWritable: false)
        #expect(m.outstanding == 1)
        #expect(m.drain(isWritable: false, flush: true) == .none)
        #expect(m.drain(isWritable: true, flush: false) == .none)  // moved, written at the read's end
        #expect(output(&m) == "y\n")
    }

    @Test func readingPausesAtMaxInFlightOrAnUnwritableSocketAndResumes() {
        var m = Machine(maxInFlight: 2)
        _ = m.reserve()
        #expect(m.readingChange(isWritable: true) == nil)
        let second = m.reserve()
        #expect(m.readingChange(isWritable: true) == false)
        #expect(m.readingChange(isWritable: true) == nil)  // reported once
        m.fill(0, bytes("a\n"))
        m.fill(second, bytes("b\n"))
        _ = m.drain(isWritable: true, flush: true)
        #expect(m.readingChange(isWritable: true) == true)
        #expect(m.readingChange(isWritable: false) == false)
        #expect(m.readingChange(isWritable: true) == true)
    }

    @Test func aHalfCloseAnswersWhatWasOwedThenCloses() {
        var m = Machine(maxInFlight: 10)
        let owed = m.reserve()
        #expect(m.finishAndClose(lastLineCounts: true) == .end(lastLineCounts: true))
        #expect(m.input == .ended(lastLineCounts: true))
        #expect(!m.acceptsInput)
        #expect(m.drain(isWritable: true, flush: true) == .none)  // still owes a reply
        m.fill(owed, bytes("a\n"))
        #expect(m.drain(isWritable: true, flush: false) == .writeAndClose)
        #expect(output(&m) == "a\n")
        #expect(m.output == .closing)
        #expect(m.drain(isWritable: true, flush: true) == .none)  // closes once
    }

    @Test func aTooLongLineIsAnsweredAfterTheRepliesOwedAndInputIsDropped() {
        var m = Machine(maxInFlight: 10)
        let owed = m.reserve()
        m.lineTooLong(bytes("too long\n"))
        #expect(m.input == .discarding)
        #expect(!m.acceptsInput)
        #expect(m.finishAndClose(lastLineCounts: true) == nil)  // nothing more runs
        m.fill(owed, bytes("a\n"))
        #expect(m.drain(isWritable: true, flush: true) == .writeAndClose)
        #expect(output(&m) == "a\ntoo long\n")
    }

    @Test func aRefusedConnectionGetsItsOneErrorThenCloses() {
        var m = Machine(maxInFlight: 10)
        #expect(m.refuse(bytes("overloaded\n"), isWritable: true) == .writeAndClose)
        #expect(output(&m) == "overloaded\n")
        #expect(!m.acceptsInput)
    }

    @Test func aListHoldsLaterInputAndTheEndOfInputUntilItIsAnswered() {
        var m = Machine(maxInFlight: 10)
        let list = m.listStarted()
        #expect(!m.mayRunLines)
        #expect(m.acceptsInput)  // read, and kept for later
        #expect(m.readingChange(isWritable: true) == false)  // and reading pauses meanwhile
        #expect(m.finishAndClose(lastLineCounts: true) == nil)  // the half-close waits for the list
        #expect(m.drain(isWritable: true, flush: true) == .none)  // no close while listing
        m.fill(list, bytes("[list]\n"))
        #expect(m.listFinished() == .end(lastLineCounts: true))
        #expect(m.input == .ended(lastLineCounts: true))
        #expect(m.drain(isWritable: true, flush: true) == .writeAndClose)
        #expect(output(&m) == "[list]\n")
    }

    @Test func aListStartedAfterTheInputEndedStillHoldsTheLinesAfterIt() {
        var m = Machine(maxInFlight: 10)
        _ = m.finishAndClose(lastLineCounts: false)
        let list = m.listStarted()
        #expect(m.input == .listing(then: .end(lastLineCounts: false)))
        #expect(!m.mayRunLines)
        m.fill(list, bytes("[]\n"))
        #expect(m.listFinished() == .end(lastLineCounts: false))
        #expect(m.mayRunLines)
    }

    @Test func watchEventsQueueBehindRepliesAndAWatcherThatDoesNotReadIsClosed() {
        var m = Machine(maxInFlight: 10)
        let owed = m.reserve()
        #expect(m.push(bytes("event\n"), isWritable: true) == .none)  // behind the owed reply
        m.fill(owed, bytes("reply\n"))
        #expect(m.drain(isWritable: true, flush: true) == .write(flush: true))
        #expect(output(&m) == "reply\nevent\n")
        for _ in 0..<Machine.maxQueuedEvents { _ = m.push(bytes("e\n"), isWritable: false) }
        #expect(m.push(bytes("e\n"), isWritable: false) == .close)
    }

    @Test func idleClosesUnlessWatching() {
        let m = Machine(maxInFlight: 10)
        #expect(m.idle(watching: false) == .close)
        #expect(m.idle(watching: true) == .none)
    }

    @Test func afterTheTransportIsGoneLateRepliesAreDropped() {
        var m = Machine(maxInFlight: 10)
        let owed = m.reserve()
        m.closed()
        m.fill(owed, bytes("late\n"))
        #expect(m.drain(isWritable: true, flush: true) == .none)
        #expect(output(&m) == nil)
        #expect(m.readingChange(isWritable: true) == nil)
        #expect(m.push(bytes("e\n"), isWritable: true) == .none)
    }
}
