import BreakerWire
import NIOCore

/// Replies in request order: slots filled as replies become ready, the filled head written out,
/// reading paused while too much is outstanding.
extension ConnectionHandler {
    /// A watch event: queued behind any reply still outstanding, so the `watch` reply always
    /// comes first and events never overtake replies.
    func push(_ line: [UInt8]) {
        guard let transport, !closeWhenDrained else { return }
        // A watcher that stopped reading would otherwise make us queue events forever: past
        // the bound it is disconnected and must watch again (and re-read state) when it returns.
        guard slots.count < Self.maxQueuedEvents else {
            logger.warning("closing a watcher that does not read its events", metadata: ["queued": "\(slots.count)"])
            transport.close()
            return
        }
        slots.append(line)
        drain(flush: true)
    }

    static let maxQueuedEvents = 10_000

    /// A reply that waited for its commit. One commit acknowledges many requests at once and
    /// their fills arrive as consecutive event-loop tasks, so the flush is queued behind them
    /// once instead of one write syscall per reply.
    func fill(_ sequence: Int, _ bytes: [UInt8]) {
        setSlot(sequence, bytes)
        afterFill()
    }

    func setSlot(_ sequence: Int, _ bytes: [UInt8]) {
        guard transport != nil else { return }
        slots[slots.index(slots.startIndex, offsetBy: sequence - headSequence)] = bytes
    }

    func afterFill() {
        guard let transport else { return }
        drain(flush: false)
        if !flushQueued {
            flushQueued = true
            HandlerHop(self, executor: transport.executor).hop { handler in
                handler.flushQueued = false
                handler.writePending()
                handler.transport?.flush()
            }
        }
        updateReading()
    }

    func drain(flush: Bool) {
        guard let transport else { return }
        var wrote = false
        // Only while the socket keeps up: what it cannot take stays in `slots`, which is bounded.
        while transport.isWritable, let head = slots.first, let bytes = head {
            slots.removeFirst()
            headSequence += 1
            if pendingOut == nil { pendingOut = Self.allocator.buffer(capacity: max(bytes.count, 1024)) }
            pendingOut!.writeBytes(bytes)
            wrote = true
        }
        if closeWhenDrained && slots.isEmpty && !listing && unread == nil && !closing {
            closing = true
            writePending()
            transport.closeAfterFlush()
        } else if wrote && flush {
            writePending()
            transport.flush()
        }
    }

    static let allocator = ByteBufferAllocator()

    func writePending() {
        guard let out = pendingOut else { return }
        pendingOut = nil
        transport?.write(out)
    }

    /// Reads only while the peer keeps up: bounded outstanding replies, writable socket.
    func updateReading() {
        guard let transport else { return }
        let pause = slots.count >= maxInFlight || !transport.isWritable || listing
        guard pause != readingPaused else { return }
        readingPaused = pause
        transport.setReading(!pause)
    }
}
