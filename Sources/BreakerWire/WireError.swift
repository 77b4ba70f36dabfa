/// The stable error codes of wire protocol v1. Clients in any language switch on these strings.
public enum ErrorCode: String, Sendable, Hashable, CaseIterable {
    case malformedJSON = "malformed_json"
    case badRequest = "bad_request"
    case unknownOp = "unknown_op"
    case invalidName = "invalid_name"
    case notFound = "not_found"
    case lineTooLong = "line_too_long"
    case overloaded
    case `internal`
    /// An admin op on a connection that has not sent a valid `auth` (daemon run with admin tokens).
    case unauthorized
    /// A daemon of a PostgreSQL-backed cluster that does not lead it (a standby, or a leader
    /// whose lease ran out): only `ping` and `hello` are answered; the error's `leader` names
    /// the daemon that leads, when one is known.
    case notLeader = "not_leader"
}

/// An error reply: a stable `code` and a message for humans. Thrown by the decoder and the
/// server alike, and sent as `{"ok":false,"error":{"code":…,"message":…}}`.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// With `not_leader`: the leader's `HOST:PORT` (its `--advertise` address), when one is
    /// known; sent as the error object's `leader` field, left out when nil.
    public var leader: String?

    public init(_ code: ErrorCode, _ message: String, leader: String? = nil) {
        self.code = code
        self.message = message
        self.leader = leader
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
