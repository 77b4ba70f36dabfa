import BreakerCore
import BreakerStore
import BreakerWire

/// Every request of the protocol, decoded by either decoder, is handled here and nowhere else:
/// the registry applies it and says what the connection should do (`RequestAction`).
extension BreakerRegistry {
    /// Handles `command` for `caller`. Admin changes need `caller.actor`.
    ///
    /// Inlined into its callers for `should-attempt`, the hottest op, so a connection that
    /// switches on the action gets the decision without a `RequestAction` built and destroyed
    /// in between; every other op is `handleServing`'s.
    @inline(__always)
    public func handle(_ command: Command, caller: Caller) -> RequestAction {
        // A standby, or a leader whose lease ran out by now: nothing but ping and hello.
        if let gate, !gate.isServing(at: clock.elapsed()) { return refused(command, gate: gate) }
        if case .shouldAttempt(let name) = command { return shouldAttempt(name) }
        return handleServing(command, caller: caller)
    }

    /// What a registry that does not serve (see `LeaderGate`) answers.
    @inline(never)
    private func refused(_ command: Command, gate: LeaderGate) -> RequestAction {
        switch command {
        case .ping: .reply(.pong(version: BreakerServer.version))
        case .hello(let client): .connectionOp(.hello(client: client, role: .standby))
        default: .error(gate.notLeader)
        }
    }

    /// `handle` of every op but `should-attempt`, once the registry serves.
    @inline(never)
    private func handleServing(_ command: Command, caller: Caller) -> RequestAction {
        if command.isAdminChange, caller.actor == nil {
            return .error(WireError(.unauthorized, "\(command.op.rawValue) needs an admin token: breakerctl takes it from "
                + "BREAKERD_TOKEN or --token-file; a protocol client sends {\"op\":\"auth\",\"token\":…} first"))
        }
        switch command {
        case .ping: return .reply(.pong(version: BreakerServer.version))
        case .hello(let client): return .connectionOp(.hello(client: client, role: .leader))
        case .watch(let prefix, let heartbeatMs): return .connectionOp(.watch(prefix: prefix, heartbeatMs: heartbeatMs))
        case .auth(let token): return .connectionOp(.auth(token: token))
        case .shouldAttempt(let name): return shouldAttempt(name)  // `handle` answers it before this
        case .record(let record):
            return record.dedupe.map { dedupedRecord(record, key: $0, reporter: caller.reporter) }
                ?? self.record(record, reporter: caller.reporter)
        case .returnPermit(let name, let permit): return returnPermit(name, permit)
        case .recordBatch(let entries): return recordBatch(entries, reporter: caller.reporter)
        case .inspect(let name):
            return view(name).map { .reply(.breaker($0)) } ?? .error(Self.notFound(name))
        case .list(let prefix): return .list(prefix: prefix)
        case .configure(let name, let patch): return configure(name, patch)
        case .reset(let name):
            let view = mutate(name, create: false, actor: caller.actor) { breaker, now in
                let (advanced, reset) = breaker.reset(at: now)
                if reset == nil {
                    // No transition, but a new generation: watchers holding answers must hear it.
                    hub.publish(name, .reset(breaker: name, generation: breaker.generation, at: now))
                }
                return (BreakerView(name: name, breaker: breaker), advanced + (reset.map { [$0] } ?? []))
            }
            return view.map { .replyAfterCommit(.breaker($0), commitScope(of: name)) } ?? .error(Self.notFound(name))
        case .forceOpen(let name, let reason):
            let view = mutate(name, create: true, actor: caller.actor, note: reason) { breaker, now in
                let transitions = breaker.forceOpen(ForcedOpen(reason: reason, actor: caller.actor, at: now))
                return (BreakerView(name: name, breaker: breaker), transitions)
            }
            return view.map { .replyAfterCommit(.breaker($0), commitScope(of: name)) } ?? .error(overloaded(name))
        case .release(let name):
            let view = mutate(name, create: false, actor: caller.actor) { breaker, now in
                let transitions = breaker.release(at: now)
                return (BreakerView(name: name, breaker: breaker), transitions)
            }
            return view.map { .replyAfterCommit(.breaker($0), commitScope(of: name)) } ?? .error(Self.notFound(name))
        case .history(let name, let limit):
            return exists(name) ? .readHistory(breaker: name, limit: limit) : .error(Self.notFound(name))
        }
    }

    @inline(__always)
    private func shouldAttempt(_ name: String) -> RequestAction {
        decide(name).map { .reply(.decision($0)) } ?? .error(overloaded(name))
    }

    /// `should-attempt`: nil when the breaker is new and the daemon holds `maxBreakers`.
    func decide(_ name: String) -> DecisionReply? {
        let cacheMs = settings.closedCacheMs
        let epoch = permitEpoch
        return mutate(name, create: true) { breaker, now -> (DecisionReply, [Transition]) in
            let result = breaker.shouldAttempt(at: now)
            var reply = DecisionReply(allow: result.decision.isAllowed, state: breaker.state,
                                      generation: breaker.generation, cacheMs: 0)
            switch result.decision {
            case .allow:
                reply.cacheMs = cacheMs
                // Only a transition (or a reset, pushed too) can change a closed breaker's answer.
                reply.untilPushed = breaker.state == .closed
            case .allowTrial(let permit): reply.permit = PermitToken(epoch: epoch, permit: permit).description
            case .reject(let retryAfterMs):
                reply.retryAfterMs = retryAfterMs
                reply.cacheMs = breaker.state == .open || breaker.state == .forcedOpen ? retryAfterMs : 0
            }
            return (reply, result.transitions)
        }
    }

    /// What a record answers once committed.
    struct Recorded: Sendable {
        var state: BreakerState
        var generation: UInt64
        var stale: Bool
    }

    /// A record, answered after its commit. `remember` may return a dedupe key for the result:
    /// it is committed with the same snapshot (see `dedupedRecord`). `shard` is the breaker's
    /// shard index when the caller has it already.
    func record(_ record: RecordCommand, reporter: String?, shard: Int? = nil,
                remember: (Recorded) -> DedupeRow? = { _ in nil }) -> RequestAction {
        let token: OutcomeToken
        if let text = record.permit {
            guard let permit = outcomeToken(text) else { return .error(Self.foreignPermit) }
            token = permit
        } else {
            token = record.generation.map { .generation($0) } ?? .none
        }
        let shard = shard ?? shardIndex(of: record.breaker)
        let recorded = mutate(record.breaker, shard: shard, create: true, commitFollows: true, remember: remember) { breaker, now -> (Recorded, [Transition]) in
            let result = breaker.record(record.outcome, count: record.count, token: token, durationMs: record.durationMs,
                                        reporter: reporter, at: now)
            return (Recorded(state: breaker.state, generation: breaker.generation, stale: result.stale), result.transitions)
        }
        guard let recorded else { return .error(overloaded(record.breaker)) }
        return .replyAfterCommit(.recorded(state: recorded.state, generation: recorded.generation, stale: recorded.stale),
                                 CommitScope(shard: shard))
    }

    /// `record-batch`: each entry as its own record (dedupe keys and permits included), all
    /// answered after one commit of every breaker they changed.
    private func recordBatch(_ entries: [BatchEntry], reporter: String?) -> RequestAction {
        var results: [BatchRecordResult] = []
        var scope = CommitScope.empty
        results.reserveCapacity(entries.count)
        for entry in entries {
            switch entry {
            case .invalid(let error): results.append(.error(error))
            case .record(let record):
                switch record.dedupe.map({ dedupedRecord(record, key: $0, reporter: reporter) })
                    ?? self.record(record, reporter: reporter) {
                case .replyAfterCommit(.recorded(let state, let generation, let stale), let entryScope):
                    results.append(.recorded(state: state, generation: generation, stale: stale))
                    scope.formUnion(entryScope)
                case .error(let error): results.append(.error(error))
                default: results.append(.error(WireError(.internal, "a record answered unlike a record")))
                }
            }
        }
        return scope.isEmpty ? .reply(.recordedBatch(results)) : .replyAfterCommit(.recordedBatch(results), scope)
    }

    /// `return-permit`: frees a half-open trial's place without an outcome. Answered like a
    /// record (after its commit), `stale` when the permit is not held; never creates a breaker.
    private func returnPermit(_ name: String, _ text: String) -> RequestAction {
        guard let token = outcomeToken(text) else { return .error(Self.foreignPermit) }
        let shard = shardIndex(of: name)
        let returned = mutate(name, shard: shard, create: false, commitFollows: true) { breaker, now -> (Reply, [Transition]) in
            let result = breaker.returnPermit(token, at: now)
            return (.recorded(state: breaker.state, generation: breaker.generation, stale: result.stale), result.transitions)
        }
        return returned.map { .replyAfterCommit($0, CommitScope(shard: shard)) } ?? .error(Self.notFound(name))
    }

    /// A permit's text as this daemon issued it; one from before a restart can never be current.
    private func outcomeToken(_ text: String) -> OutcomeToken? {
        guard let permit = PermitToken(text) else { return nil }
        return permit.epoch == permitEpoch ? .permit(permit.permit) : .expiredPermit
    }

    private static let foreignPermit = WireError(.badRequest, "field 'permit' is not a permit this daemon issued")

    private func configure(_ name: String, _ patch: BreakerConfigPatch) -> RequestAction {
        let defaults = settings.config(for: name)
        let shard = shards[shardIndex(of: name)]
        let result = shard.breakers.withLock { breakers -> Result<BreakerView, WireError> in
            let existing = breakers[name]?.breaker
            let config: BreakerConfig
            do throws(ConfigError) {
                config = try patch.applied(to: existing?.config ?? defaults)
            } catch {
                return .failure(WireError(.badRequest, error.message))
            }
            // Validated first, so a rejected configure never takes a place under the limit.
            if existing == nil, !reserveBreaker() { return .failure(overloaded(name)) }
            let now = clock.now()
            var breaker = existing ?? CircuitBreaker(config: config, createdAt: now)
            breaker.config = config
            let transitions = breaker.advance(to: now)
            if let slot = breakers[name] { slot.breaker = breaker } else { breakers[name] = BreakerSlot(breaker) }
            afterChange(name, breaker, transitions, journal: shard.journal)
            return .success(BreakerView(name: name, breaker: breaker))
        }
        switch result {
        case .success(let view): return .replyAfterCommit(.breaker(view), commitScope(of: name))
        case .failure(let error): return .error(error)
        }
    }

    /// The effective state of one breaker as of now. Looking never uses up a permit, but does
    /// apply what time has done first, so the answer matches what watchers were told.
    func view(_ name: String) -> BreakerView? {
        mutate(name, create: false) { breaker, now in
            let transitions = breaker.advance(to: now)
            return (BreakerView(name: name, breaker: breaker), transitions)
        }
    }

    /// Every breaker under `prefix`, by name. Walks every shard: never on an event loop.
    func list(prefix: String?) -> [BreakerView] {
        var views: [BreakerView] = []
        for shard in shards {
            let names = shard.breakers.withLock { breakers in
                breakers.keys.filter { prefix.map($0.hasPrefix) ?? true }
            }
            views += names.compactMap(view)
        }
        return views.sorted { $0.name < $1.name }
    }
}
