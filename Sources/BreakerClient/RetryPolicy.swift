/// Retries with exponential backoff and full jitter, for combining with a breaker.
///
/// Put the breaker inside the retry (`policy.run { try await breaker.run { … } }`): every try
/// then asks the breaker and reports its outcome, so retries cannot keep hammering a dependency
/// the breaker has opened. A `BreakerOpenError` ends the retries at once, and only errors the
/// classifier counts as failures are retried (a cancelled call is not). Full jitter (a delay
/// drawn uniformly from zero to the exponential ceiling) spreads the retries of many replicas
/// instead of synchronising them.
public struct RetryPolicy: Sendable {
    /// Tries in all, the first one included (1 means no retry).
    public var maxAttempts: Int
    /// The ceiling of the first retry's delay; it doubles for each retry after.
    public var initialDelay: Duration
    /// No delay is ever longer than this.
    public var maxDelay: Duration
    /// Which errors are retried: those it classifies as `.failure`.
    public var classifier: OutcomeClassifier

    /// Three tries, 50 ms then 100 ms ceilings, never more than 2 s; out-of-range values are
    /// clamped (at least one try, no negative delay).
    public init(maxAttempts: Int = 3, initialDelay: Duration = .milliseconds(50), maxDelay: Duration = .seconds(2),
                classifier: OutcomeClassifier = .default) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = max(.zero, initialDelay)
        self.maxDelay = max(.zero, maxDelay)
        self.classifier = classifier
    }

    /// The largest delay before retry number `retry` (1 for the first retry):
    /// `min(maxDelay, initialDelay × 2^(retry-1))`.
    public func delayCeiling(beforeRetry retry: Int) -> Duration {
        var ceiling = initialDelay
        var n = 1
        while n < retry, ceiling < maxDelay {
            ceiling = ceiling * 2
            n += 1
        }
        return min(ceiling, maxDelay)
    }

    /// A delay drawn uniformly from `0...delayCeiling(beforeRetry:)` (full jitter).
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = delayCeiling(beforeRetry: retry)
        let nanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanos, using: &generator))
    }

    /// Whether `error` may be retried: never a breaker rejection, otherwise what the
    /// classifier counts as a failure.
    public func shouldRetry(_ error: any Error) -> Bool {
        if error is BreakerOpenError { return false }
        return classifier.classify(error: error, duration: .zero) == .failure
    }

    /// Runs `operation` until it returns, throws something not to retry, or `maxAttempts` tries
    /// have been made; the last error is rethrown. Cancellation stops the waiting at once.
    nonisolated(nonsending)
    public func run<T>(_ operation: () async throws -> T) async throws -> T {
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                guard attempt < maxAttempts, shouldRetry(error) else { throw error }
                try await Task.sleep(for: delay(beforeRetry: attempt, using: &generator))
                attempt += 1
            }
        }
    }
}
