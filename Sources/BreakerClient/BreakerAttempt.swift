import BreakerCore

/// How the outcome of an attempt is reported: what decided it, and what it carries.
enum AttemptToken: Sendable, Hashable {
    /// A CLOSED decision of the daemon: records carry its generation (and are folded).
    case generation(UInt64)
    /// A half-open trial granted by the daemon: one record (or `return-permit`) with this permit.
    case permit(String)
    /// The `.local` fallback decided: the outcome feeds the in-process breaker.
    case local(OutcomeToken)
    /// `.failOpen` let the call through: nothing to report to.
    case unguarded
}

/// Permission to make one call, from `Breaker.attempt()`. End it exactly once, with
/// `succeeded()`, `failed()`, `finish(error:)` or `abandon()`: each consumes the attempt, so
/// the compiler refuses a second report (and copying one). A half-open trial never ended holds
/// its slot until the daemon's permit timeout, which then counts it as a failure; `abandon()`
/// frees it at once.
public struct BreakerAttempt: ~Copyable, Sendable {
    let breaker: Breaker
    let token: AttemptToken
    /// When the attempt was granted, on the client's clock (nanoseconds).
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
        .nanoseconds(Int64(clamping: breaker.client.clock.now() &- start))
    }

    /// The call worked. Sent in the background; never blocks.
    public consuming func succeeded() {
        breaker.client.report(.success, token: token, entry: breaker.entry, now: breaker.client.clock.now())
    }

    /// The call failed in a way that says the dependency is unhealthy. Sent at once, in the
    /// background; never blocks.
    public consuming func failed() {
        breaker.client.report(.failure, token: token, entry: breaker.entry, now: breaker.client.clock.now())
    }

    /// The call was not made, or its caller gave up on it: neither a success nor a failure. A
    /// half-open trial's permit is handed back (`return-permit`, in the background) so another
    /// trial can go at once; for any other attempt there is nothing to report.
    public consuming func abandon() {
        breaker.client.abandon(token, entry: breaker.entry, now: breaker.client.clock.now())
    }

    /// Reports the call's end as the breaker's classifier judges `error` (nil when it
    /// returned) and the call's duration, and returns the verdict. `.ignore` is `abandon()`.
    @discardableResult
    public consuming func finish(error: (any Error)?) -> OutcomeClassifier.Verdict {
        let now = breaker.client.clock.now()
        let verdict = breaker.classifier.classify(error: error, duration: .nanoseconds(Int64(clamping: now &- start)))
        switch verdict {
        case .success: breaker.client.report(.success, token: token, entry: breaker.entry, now: now)
        case .failure: breaker.client.report(.failure, token: token, entry: breaker.entry, now: now)
        case .ignore: breaker.client.abandon(token, entry: breaker.entry, now: now)
        }
        return verdict
    }
}
