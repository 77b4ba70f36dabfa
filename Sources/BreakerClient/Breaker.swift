import BreakerCore
import BreakerWire

/// A handle on one named breaker, made by `BreakerClient.breaker(_:classifier:)`.
///
/// Cheap to copy and `Sendable`: make it once (a lock over all breakers) and share it; every
/// call through it takes only this breaker's own lock while its decision is cached.
public struct Breaker: Sendable {
    let client: BreakerClient
    let entry: BreakerEntry
    /// What `run` counts as a failure; by default every thrown error except cancellation.
    public var classifier: OutcomeClassifier

    init(client: BreakerClient, entry: BreakerEntry, classifier: OutcomeClassifier) {
        self.client = client
        self.entry = entry
        self.classifier = classifier
    }

    /// The breaker's name in breakerd.
    public var name: String { entry.name }

    /// The config the client last learnt from the daemon (by `inspect` in the background, or
    /// `configure`); the `.local` fallback uses it, or `defaultLocalConfig` while it is nil.
    public var knownConfig: BreakerConfig? { entry.state.withLock { $0.config } }

    /// Asks whether the dependency may be called now, for code that cannot be wrapped in `run`.
    /// End the returned attempt exactly once (`succeeded`, `failed`, `finish` or `abandon`).
    ///
    /// A cached answer is used while it is valid (no I/O, no allocation); otherwise the daemon
    /// is asked, waiting at most `decisionTimeout`, and if it cannot answer the fallback
    /// decides. Throws `BreakerOpenError` when the call must not be made, and
    /// `BreakerClientError` (`invalid_name`) for a name the protocol does not allow.
    nonisolated(nonsending)
    public func attempt() async throws -> BreakerAttempt {
        let now = client.clock.now()
        switch entry.probe(now: now, streamLive: client.watchStreamIsLive(now: now)) {
        case .allow(let generation):
            return BreakerAttempt(breaker: self, token: .generation(generation), start: now)
        case .reject(let state, let retryAfter):
            throw BreakerOpenError(name: entry.name, state: state, retryAfter: retryAfter.map { .nanoseconds(Int64(clamping: $0)) },
                                   source: .daemon)
        case .miss:
            return try await client.decide(self)
        }
    }

    /// Asks, runs `body` if allowed, and reports its outcome as `classifier` judges it (with
    /// the call's duration). Rethrows whatever `body` throws; throws `BreakerOpenError`
    /// without running `body` when the breaker says no. When the task was cancelled and `body`
    /// threw, the caller gave up: the attempt is abandoned (a half-open trial's permit goes
    /// back), never counted as a failure.
    nonisolated(nonsending)
    public func run<T>(_ body: () async throws -> T) async throws -> T {
        let attempt = try await attempt()
        let value: T
        do {
            value = try await body()
        } catch {
            if Task.isCancelled {
                attempt.abandon()
            } else {
                attempt.finish(error: error)
            }
            throw error
        }
        attempt.finish(error: nil)
        return value
    }

    /// `run`, retried under `policy`: every try asks the breaker and reports its own outcome,
    /// and a `BreakerOpenError` is never retried.
    nonisolated(nonsending)
    public func run<T>(retrying policy: RetryPolicy, _ body: () async throws -> T) async throws -> T {
        try await policy.run { try await self.run(body) }
    }

    /// Changes the breaker's configuration in breakerd (creating the breaker if needed) and
    /// returns the resulting config, which the `.local` fallback then uses. Services usually
    /// call it once at start-up. Throws `BreakerClientError` (`bad_request` for a value out
    /// of range, `unavailable` or `timed_out` when the daemon cannot be reached).
    public func configure(_ patch: BreakerConfigPatch) async throws -> BreakerConfig {
        if let error = entry.invalidName { throw error }
        // On the breaker's record link: the config change reaches the daemon in order with its records.
        let reply = try await client.request(.configure(breaker: name, patch: patch), on: client.recordLinks[entry.recordLink])
        guard case .breaker(let view) = reply else { throw BreakerClientError(.protocolViolation, "unexpected reply to configure") }
        entry.state.withLock { $0.learn(view.breaker.config) }
        return view.breaker.config
    }
}
