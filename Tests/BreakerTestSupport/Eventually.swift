#if canImport(Glibc)
import Glibc
#endif

/// The tests' one way to wait for something that happens on another thread: ask `condition`
/// every `Poll.interval` until it holds or the time is up, then once more at the deadline.
/// Returns whether it held. It never decides a test by itself; the caller `#expect`s the result.
///
/// From a task, pass `within:` a `Duration`: the wait suspends the task (`Task.sleep`), so the
/// cooperative threads the code under test needs stay free. The untimed form below is for
/// synchronous code that blocks its thread anyway (a blocking socket client).
public func eventually(within timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let poll = Poll(timeout: timeout)
    while poll.running {
        if try await condition() { return true }
        try? await Task.sleep(for: Poll.interval)
    }
    return try await condition()
}

/// `eventually(within:_:)` for synchronous callers; `seconds` is the time allowed.
public func eventually(within seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let poll = Poll(timeout: .milliseconds(Int64(seconds * 1_000)))
    while poll.running {
        if try condition() { return true }
        usleep(UInt32(Poll.interval / .microseconds(1)))
    }
    return try condition()
}

/// The deadline both forms share.
struct Poll {
    /// Short: a condition met is noticed within a few milliseconds, and a check is cheap.
    static let interval = Duration.milliseconds(2)
    let deadline: ContinuousClock.Instant

    init(timeout: Duration) { deadline = .now + timeout }

    var running: Bool { ContinuousClock.now < deadline }
}
