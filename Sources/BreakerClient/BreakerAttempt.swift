import BreakerCore

/// How the outcome of an attempt is reported: what decided it, and what it carries.
enum AttemptToken: Sendable, Hashable {
    /// A CLOSED decision of the daemon: records carry its generation (and are folded).
    case generation(UInt64)
    /// A half-open trial granted by the daemon: one record with this permit.
    case permit(String)
    /// The `.local` fallback decided: the outcome feeds the in-process breaker.
    case local(OutcomeToken)
    /// `.failOpen` let the call through: nothing to report to.
    case unguarded
}

/// Permission to make one call, from `Breaker.attempt()`. Report its outcome exactly once
/// with `succeeded()`, `failed()` or `finish(error:)`: reporting twice counts twice, and a
/// half-open trial never reported holds its slot until the daemon's permit timeout, which
/// then counts it as a failure.
public struct BreakerAttempt: Sendable {
    let breaker: Breaker
    let token: AttemptToken
    /// Monotonic nanoseconds when the attempt was granted.
    let start: UInt64

    init(breaker: Breaker, token: AttemptToken, start: UInt64) {
        self.breaker = breaker
        self.token = token
        self.start = start
    }

    /// The breaker this attempt belongs to.
    public var breakerName: String { breaker.entry.name }

    /// True for a half-open trial (the daemon's or the fallback's): its outcome decides
    /// whether the breaker closes again.
    public var isTrial: Bool {
        switch token {
        case .permit, .local(.permit): true
        default: false
        }
    }

    /// True when the fallback, not breakerd, allowed this call.
    public var isFallback: Bool {
        switch token {
        case .local, .unguarded: true
        default: false
        }
    }

    /// Time since the attempt was granted: the call's duration when read at its end.
    public var elapsed: Duration {
        .nanoseconds(Int64(clamping: MonotonicClock.now() &- start))
    }

    /// The call worked. Sent in the background; never blocks.
    public func succeeded() {
        breaker.client.report(.success, token: token, entry: breaker.entry, now: MonotonicClock.now())
    }

    /// The call failed in a way that says the dependency is unhealthy. Sent at once, in the
    /// background; never blocks.
    public func failed() {
        breaker.client.report(.failure, token: token, entry: breaker.entry, now: MonotonicClock.now())
    }

    /// Reports the call's end as the breaker's classifier judges `error` (nil when it
    /// returned) and the call's duration, and returns the verdict. `.ignore` reports nothing.
    @discardableResult
    public func finish(error: (any Error)?) -> OutcomeClassifier.Verdict {
        let now = MonotonicClock.now()
        let verdict = breaker.classifier.classify(error: error, duration: .nanoseconds(Int64(clamping: now &- start)))
        switch verdict {
        case .success: breaker.client.report(.success, token: token, entry: breaker.entry, now: now)
        case .failure: breaker.client.report(.failure, token: token, entry: breaker.entry, now: now)
        case .ignore: break
        }
        return verdict
    }
}
