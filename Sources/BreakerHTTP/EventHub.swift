import BreakerServer
import BreakerSync
import Dispatch

/// Every open `/events` stream: each one watches the registry's transitions (the same hub as the
/// protocol's `watch`), and while any is open, a summary of what changed is computed once a
/// second on the render queue and sent to all of them.
final class EventHub: Sendable {
    private let serving: ServingRegistry
    /// Each stream with the registry it watches (the one serving when it opened).
    private let streams = Mutex<[ObjectIdentifier: (stream: EventStream, registry: BreakerRegistry)]>([:])
    /// The last summary's baseline; only touched on the render queue.
    private let summary = Mutex(ActivitySummary())
    /// Whether the once-a-second summary is scheduled.
    private let ticking = Mutex(false)
    let stats = EventStreamStats()

    init(serving: ServingRegistry) {
        self.serving = serving
    }

    var streamCount: Int { streams.withLock { $0.count } }

    func add(_ stream: EventStream) {
        let id = ObjectIdentifier(stream)
        let registry = serving.registry
        streams.withLock { $0[id] = (stream, registry) }
        registry.watch(id, prefix: nil) { line in stream.enqueue(EventFrames.transition(line)) }
        let start = ticking.withLock { ticking -> Bool in
            defer { ticking = true }
            return !ticking
        }
        if start { ObservabilityEndpoints.renderQueue.asyncAfter(deadline: .now() + .seconds(1)) { self.tick() } }
    }

    func remove(_ stream: EventStream) {
        let id = ObjectIdentifier(stream)
        let watched = streams.withLock { $0.removeValue(forKey: id) }
        watched?.registry.unwatch(id)
        stream.close()
    }

    /// Ends every stream (shutdown, or the serving registry replaced): their connections close
    /// instead of waiting to be forced; a browser's EventSource reconnects to the new registry.
    func endAll() {
        for (stream, _) in streams.withLock({ Array($0.values) }) {
            remove(stream)
            stream.end()
        }
    }

    /// On the render queue: one summary to every stream, then the next in a second, or, when
    /// computing it took long (many breakers on a slow machine), after as long again, so the
    /// summaries never take more than half of the render queue.
    private func tick() {
        let keepGoing = ticking.withLock { ticking -> Bool in
            if streams.withLock({ $0.isEmpty }) { ticking = false }
            return ticking
        }
        guard keepGoing else {
            summary.withLock { $0 = ActivitySummary() }  // a later stream starts afresh
            return
        }
        let started = DispatchTime.now()
        let body = summary.withLock { $0.next(serving.registry.snapshot(), at: started) }
        if let body {
            let frame = EventFrames.summary(body)
            for (stream, _) in streams.withLock({ Array($0.values) }) { stream.enqueue(frame) }
        }
        let elapsedNs = DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds
        let delayNs = max(1_000_000_000 - Int(elapsedNs), Int(elapsedNs))
        ObservabilityEndpoints.renderQueue.asyncAfter(deadline: .now() + .nanoseconds(delayNs)) { self.tick() }
    }
}
