/// Decides what a finished call means for the breaker. The caller owns this choice: a 404 from
/// an HTTP API or a unique-key violation from a database says nothing about the dependency's
/// health, and a call that succeeded but took ten seconds may say a lot.
public struct OutcomeClassifier: Sendable {
    /// What one call counts as.
    public enum Verdict: Sendable, Hashable {
        /// The dependency worked: resets the run of failures (and counts as a good trial).
        case success
        /// The dependency is unhealthy: counts towards opening the breaker.
        case failure
        /// Neither (cancellation): nothing is counted, and a half-open trial's permit is handed
        /// back at once (`return-permit`), so the breaker neither reopens nor waits for it.
        case ignore
    }

    private let body: @Sendable ((any Error)?, Duration) -> Verdict

    /// A classifier from a function of the thrown error (nil when the call returned) and the
    /// call's duration.
    public init(_ classify: @escaping @Sendable (_ error: (any Error)?, _ duration: Duration) -> Verdict) {
        self.body = classify
    }

    /// Every thrown error is a failure, except `CancellationError`, which is ignored: the
    /// caller gave up, the dependency did not fail.
    public static let `default` = OutcomeClassifier { error, _ in
        switch error {
        case nil: .success
        case is CancellationError: .ignore
        default: .failure
        }
    }

    /// Only errors for which `isFailure` is true count as failures; other errors count as
    /// successes (the dependency answered). `CancellationError` is still ignored.
    public static func failures(where isFailure: @escaping @Sendable (any Error) -> Bool) -> OutcomeClassifier {
        OutcomeClassifier { error, _ in
            guard let error else { return .success }
            if error is CancellationError { return .ignore }
            return isFailure(error) ? .failure : .success
        }
    }

    /// This classifier, with calls that returned but took longer than `threshold` counted as
    /// failures: a dependency that answers too slowly hurts callers as much as one that fails.
    public func countingSlowCalls(over threshold: Duration) -> OutcomeClassifier {
        let base = self
        return OutcomeClassifier { error, duration in
            let verdict = base.classify(error: error, duration: duration)
            return verdict == .success && duration > threshold ? .failure : verdict
        }
    }

    /// Applies the classifier.
    public func classify(error: (any Error)?, duration: Duration) -> Verdict {
        body(error, duration)
    }
}
