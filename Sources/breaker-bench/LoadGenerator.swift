import Histogram
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one worker measured; merged across workers at the end.
struct WorkerStats {
    var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000_000,
                                    numberOfSignificantValueDigits: .three)
    var completed = 0
    var errors = 0
    var unexpected = 0
    var connectionFailures = 0
    var firstError: String?
    /// Requests still outstanding when the run ended (open loop: backlog the server never served).
    var outstandingAtEnd = 0

    mutating func merge(_ o: WorkerStats) {
        latency.add(o.latency)
        completed += o.completed
        errors += o.errors
        unexpected += o.unexpected
        connectionFailures += o.connectionFailures
        if firstError == nil { firstError = o.firstError }
        outstandingAtEnd += o.outstandingAtEnd
    }
}

/// Drives a set of connections from one thread with poll(2).
///
/// Closed loop: every connection keeps `pipeline` requests outstanding and sends a new one per
/// reply; latency runs from the moment the request was written.
/// Open loop (`rate`): each connection sends on a fixed schedule whatever the replies do, and
/// latency runs from the moment the request was *due*, so a stalled server is charged for every
/// request it delayed (no coordinated omission).
final class Worker {
    let config: BenchConfig
    let connections: [Connection]
    let prefix: [UInt8]
    var rng: UInt64
    var stats = WorkerStats()

    init(config: BenchConfig, connections: [Connection], seed: UInt64) {
        self.config = config
        self.connections = connections
        self.prefix = Array(config.prefix.utf8)
        self.rng = seed | 1
    }

    @inline(__always)
    func random() -> UInt64 {
        rng ^= rng >> 12
        rng ^= rng << 25
        rng ^= rng >> 27
        return rng &* 2_685_821_657_736_338_717
    }

    @inline(__always)
    func enqueue(_ c: Connection, op: BenchOp, index: Int) {
        switch config.target.kind {
        case .breakerd: BreakerdCodec.append(op, prefix: prefix, index: index, to: &c.outbound)
        case .redis: RedisCodec.append(op, prefix: prefix, index: index, to: &c.outbound)
        }
    }

    @inline(__always)
    func enqueueRandom(_ c: Connection) {
        let r = random()
        let op = config.mix.pick(Int((r >> 32) % UInt64(config.mix.total)))
        let index = Int((r & 0xffff_ffff) % UInt64(config.breakers))
        enqueue(c, op: op, index: index)
    }

    @inline(__always)
    func scan(_ buf: UnsafeRawBufferPointer, from: Int) -> (ReplyClass, Int)? {
        switch config.target.kind {
        case .breakerd: BreakerdCodec.scan(buf, from: from)
        case .redis: RedisCodec.scan(buf, from: from)
        }
    }

    func fail(_ c: Connection, _ why: String) {
        stats.connectionFailures += 1
        if stats.firstError == nil { stats.firstError = why }
        c.shutdown()
    }

    /// Runs from now until `end`; replies completing from `measureFrom` on are counted.
    func run(measureFrom: UInt64, end: UInt64) {
        let openLoop = config.rate != nil
        var interval: UInt64 = 0
        let start = nowNanos()
        if let rate = config.rate {
            let perConnection = rate / Double(config.connections)
            interval = UInt64(1e9 / perConnection)
            for (i, c) in connections.enumerated() {
                c.nextDue = start + interval * UInt64(i) / UInt64(max(connections.count, 1))
            }
        } else {
            for c in connections {
                for _ in 0..<config.pipeline {
                    enqueueRandom(c)
                    c.pushSent(start)
                }
                if !c.flush() { fail(c, "write failed") }
            }
        }
        var fds = connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        while true {
            var now = nowNanos()
            if now >= end { break }
            var timeout = min(end - now, 50_000_000)
            if openLoop {
                for c in connections where !c.closed {
                    var sentAny = false
                    while c.nextDue <= now && c.sentCount < 1_000_000 {
                        enqueueRandom(c)
                        c.pushSent(c.nextDue)
                        c.nextDue += interval
                        sentAny = true
                    }
                    if sentAny && !c.flush() { fail(c, "write failed") }
                    if c.nextDue > now { timeout = min(timeout, c.nextDue - now) }
                }
            }
            for i in fds.indices {
                let c = connections[i]
                fds[i].fd = c.closed ? -1 : c.fd
                fds[i].events = Int16(POLLIN) | (c.wantsWrite ? Int16(POLLOUT) : 0)
            }
            var ts = timespec(tv_sec: Int(timeout / 1_000_000_000), tv_nsec: Int(timeout % 1_000_000_000))
            let n = fds.withUnsafeMutableBufferPointer { preciseWait($0.baseAddress, nfds_t($0.count), &ts) }
            if n <= 0 { continue }
            now = nowNanos()
            for i in fds.indices where fds[i].revents != 0 {
                let c = connections[i]
                if c.closed { continue }
                if fds[i].revents & Int16(POLLOUT) != 0 && !c.flush() { fail(c, "write failed"); continue }
                guard fds[i].revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 else { continue }
                if !c.fill() { fail(c, "connection closed by the server"); continue }
                var replies = 0
                let buf = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(c.inbound)[..<c.inEnd])
                while c.sentCount > 0, let (cls, next) = scan(buf, from: c.inStart) {
                    let sentAt = c.popSent()
                    if now >= measureFrom {
                        stats.completed += 1
                        _ = stats.latency.record(now > sentAt ? now - sentAt : 1)
                        switch cls {
                        case .ok: break
                        case .error, .unexpected:
                            if cls == .error { stats.errors += 1 } else { stats.unexpected += 1 }
                            if stats.firstError == nil {
                                stats.firstError = String(decoding: buf[c.inStart..<next], as: UTF8.self)
                            }
                        }
                    }
                    c.inStart = next
                    replies += 1
                }
                if c.sentCount == 0 && c.inStart < c.inEnd {
                    stats.unexpected += 1
                    if stats.firstError == nil { stats.firstError = "a reply nobody asked for" }
                    c.inStart = c.inEnd
                }
                if !openLoop && replies > 0 {
                    for _ in 0..<replies {
                        enqueueRandom(c)
                        c.pushSent(now)
                    }
                }
                if c.wantsWrite && !c.flush() { fail(c, "write failed") }
            }
        }
        for c in connections { stats.outstandingAtEnd += c.sentCount }
    }

    /// Touches every breaker name once, in order, so that a run over K breakers finds them all
    /// existing (and, for breakerd, persisted). Connections share the names; `window` in flight each.
    func populate(names: Range<Int>, window: Int) {
        var next = names.lowerBound
        var done = 0
        let total = names.count
        var fds = connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        func top(_ c: Connection) {
            // breakerd creates a breaker on should-attempt; Redis creates a key on SET.
            let op: BenchOp = config.target.kind == .redis ? .recordSuccess : .shouldAttempt
            while c.sentCount < window && next < names.upperBound {
                enqueue(c, op: op, index: next)
                c.pushSent(0)
                next += 1
            }
            if !c.flush() { fail(c, "write failed") }
        }
        for c in connections { top(c) }
        while done < total && connections.contains(where: { !$0.closed }) {
            for i in fds.indices {
                fds[i].fd = connections[i].closed ? -1 : connections[i].fd
                fds[i].events = Int16(POLLIN) | (connections[i].wantsWrite ? Int16(POLLOUT) : 0)
            }
            if poll(&fds, nfds_t(fds.count), 1000) <= 0 { continue }
            for i in fds.indices where fds[i].revents != 0 {
                let c = connections[i]
                if c.closed { continue }
                if fds[i].revents & Int16(POLLOUT) != 0 && !c.flush() { fail(c, "write failed"); continue }
                guard fds[i].revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 else { continue }
                if !c.fill() { fail(c, "connection closed by the server"); continue }
                let buf = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(c.inbound)[..<c.inEnd])
                while c.sentCount > 0, let (cls, nextIndex) = scan(buf, from: c.inStart) {
                    _ = c.popSent()
                    if cls != .ok { stats.errors += 1 }
                    c.inStart = nextIndex
                    done += 1
                }
                top(c)
            }
        }
    }
}

#if os(Linux)
/// glibc's ppoll(2) (only declared with _GNU_SOURCE): poll with a nanosecond timeout, so an open
/// loop can sleep until the next request is due instead of spinning on the CPU it shares with
/// the server.
@_silgen_name("ppoll")
private func c_ppoll(_ fds: UnsafeMutablePointer<pollfd>?, _ n: nfds_t, _ timeout: UnsafePointer<timespec>?,
                     _ sigmask: UnsafeRawPointer?) -> Int32

@inline(__always)
func preciseWait(_ fds: UnsafeMutablePointer<pollfd>?, _ n: nfds_t, _ ts: inout timespec) -> Int32 {
    c_ppoll(fds, n, &ts, nil)
}
#else
@inline(__always)
func preciseWait(_ fds: UnsafeMutablePointer<pollfd>?, _ n: nfds_t, _ ts: inout timespec) -> Int32 {
    poll(fds, n, Int32((ts.tv_sec * 1000) + (ts.tv_nsec + 999_999) / 1_000_000))
}
#endif
