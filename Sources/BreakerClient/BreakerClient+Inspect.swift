import BreakerWire

extension BreakerClient {
    /// The breaker `name` as breakerd has it now (state, config, counts, metrics). Throws
    /// `BreakerClientError`: `not_found` for a breaker the daemon does not know, `invalid_name`,
    /// or `unavailable` / `timed_out` when the daemon cannot be asked (waiting at most
    /// `connectTimeout` for a connection, then `requestTimeout` for the answer).
    public func inspect(_ name: String) async throws -> BreakerSnapshot {
        let reply = try await request(.inspect(breaker: name), on: control)
        guard case .breaker(let view) = reply else { throw BreakerClientError(.protocolViolation, "unexpected reply to inspect") }
        return BreakerSnapshot(view)
    }

    /// Every breaker whose name starts with `prefix` (all when nil), in the daemon's order.
    /// Throws as `inspect(_:)` does.
    public func list(prefix: String? = nil) async throws -> [BreakerSnapshot] {
        let reply = try await request(.list(prefix: prefix), on: control)
        guard case .list(let views) = reply else { throw BreakerClientError(.protocolViolation, "unexpected reply to list") }
        return views.map(BreakerSnapshot.init)
    }

    /// An administrative request (not the hot path): a link still (re)connecting gets up to
    /// `connectTimeout`, the answer `requestTimeout`.
    func request(_ command: Command, on link: DaemonLink) async throws -> Reply {
        guard let connection = await link.readyConnection(timeout: configuration.connectTimeout) else {
            throw BreakerClientError(.unavailable, "breakerd is not reachable")
        }
        do {
            return try await connection.send(command, timeout: requestTimeout).get()
        } catch let error as BreakerClientError {
            throw error
        } catch {
            throw BreakerClientError(.connectionClosed, "\(error)")
        }
    }
}

extension Breaker {
    /// This breaker as breakerd has it now; see `BreakerClient.inspect(_:)`.
    public func inspect() async throws -> BreakerSnapshot {
        if let error = entry.invalidName { throw error }
        return try await client.inspect(name)
    }
}
