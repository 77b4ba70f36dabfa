import BreakerSync
import NIOCore

/// One `GET /events` connection's queue of Server-Sent Events, bounded.
///
/// Transitions arrive from any thread (the registry calls `enqueue` with a shard lock held), so
/// they only go into this queue; one task on the connection's event loop writes out what is
/// queued while the socket takes it. A reader that stops reading makes the socket unwritable
/// (past NIO's write-buffer high-water mark), so nothing more is written and the queue fills;
/// past `maxPendingBytes` everything queued is dropped and counted, and once the reader catches
/// up it gets one `resync` event first, telling the page to fetch the list again. Memory per
/// stream is thus at most `maxPendingBytes` plus NIO's write buffer, however slow the reader.
final class EventStream: Sendable {
    static let maxPendingBytes = 512 * 1024

    private struct State {
        var frames: [[UInt8]] = []
        var bytes = 0
        /// Events dropped since the last `resync` was written.
        var dropped = 0
        var flushScheduled = false
        var closed = false
    }

    private let state = Mutex(State())
    private let eventLoop: any EventLoop
    private let stats: EventStreamStats
    /// Writes bytes to the connection and says whether it is writable; runs on `eventLoop` only.
    private let sink: NIOLoopBound<any EventStreamSink>

    init(sink: any EventStreamSink, eventLoop: any EventLoop, stats: EventStreamStats) {
        self.sink = NIOLoopBound(sink, eventLoop: eventLoop)
        self.eventLoop = eventLoop
        self.stats = stats
    }

    /// Queues one complete frame (see `EventFrames`); from any thread, never blocks.
    func enqueue(_ frame: [UInt8]) {
        let schedule = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            if s.bytes + frame.count > Self.maxPendingBytes {
                s.dropped += s.frames.count + 1
                stats.dropped(s.frames.count + 1)
                s.frames.removeAll()
                s.bytes = 0
                return false
            }
            s.frames.append(frame)
            s.bytes += frame.count
            stats.pending(s.bytes)
            guard !s.flushScheduled else { return false }
            s.flushScheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.flush() } }
    }

    /// On the event loop: writes out what is queued, `resync` first if events were dropped.
    /// Called again by the connection when it becomes writable.
    func flush() {
        let sink = self.sink.value
        guard sink.isWritable else {
            state.withLock { $0.flushScheduled = false }
            return
        }
        let (frames, dropped) = state.withLock { s -> ([[UInt8]], Int) in
            defer { (s.frames, s.bytes, s.dropped, s.flushScheduled) = ([], 0, 0, false) }
            return (s.frames, s.dropped)
        }
        guard !frames.isEmpty || dropped > 0 else { return }
        var out: [UInt8] = dropped > 0 ? EventFrames.resync(dropped: dropped) : []
        if dropped > 0 { stats.resynced() }
        for frame in frames { out += frame }
        sink.writeEvents(out)
    }

    /// Ends the response (the daemon is shutting down): the browser reconnects elsewhere or later.
    func end() {
        close()
        eventLoop.execute { self.sink.value.endEvents() }
    }

    /// Nothing is queued or written after this.
    func close() {
        state.withLock {
            $0.closed = true
            $0.frames.removeAll()
            $0.bytes = 0
        }
    }
}

/// Where an `EventStream` writes: the connection's HTTP handler, on its event loop.
protocol EventStreamSink: AnyObject {
    var isWritable: Bool { get }
    func writeEvents(_ bytes: [UInt8])
    /// Ends the response and closes the connection.
    func endEvents()
}
