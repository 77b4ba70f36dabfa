import BreakerCore
import Synchronization

/// The heartbeats one `watch` asked for. Each beat is scheduled on the daemon's clock at the
/// previous beat's deadline plus the interval — from the clock's own callback, not from the
/// connection's thread, so beats keep their cadence however late the connection runs (and a
/// manual clock sees the next one at once). The connection pushes each beat onto its queue,
/// behind every reply and event before it. A newer `watch` or the connection's end stops them.
final class WatchHeartbeat: Sendable {
    private let stopped = Atomic<Bool>(false)
    let interval: Int64

    init(intervalMs: Int) { interval = Int64(intervalMs) }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// Starts the beats after `start`; `beat` runs (on the clock's thread) once per interval.
    func start(on clock: any BreakerClock, after start: Timestamp, _ beat: @escaping @Sendable (Timestamp) -> Void) {
        let due = start.adding(milliseconds: interval)
        clock.run(at: due) { [self] in
            guard !stopped.load(ordering: .relaxed) else { return }
            self.start(on: clock, after: due, beat)
            beat(due)
        }
    }
}
