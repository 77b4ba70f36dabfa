import BreakerWire

/// A request the client could not get answered: the daemon said no (with a stable `code` from
/// the protocol's error table), or it could not be reached in time.
///
/// The hot path never throws this for an unreachable daemon (the fallback decides instead);
/// it reaches callers of administrative calls such as `Breaker.configure(_:)`, and of
/// `attempt()` only for a breaker name the protocol does not allow.
public struct BreakerClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, switchable code. The daemon's codes keep their wire spelling
    /// (`invalid_name`, `bad_request`, …); the client adds its own for transport failures.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code as text, stable across versions: switch on it, log it.
        public var rawValue: String
        /// Any code; the static members name every code the client produces.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The raw value.
        public var description: String { rawValue }

        /// The daemon's error code, spelt as on the wire.
        public init(_ code: ErrorCode) { self.rawValue = code.rawValue }

        /// The daemon could not parse a request line (never sent by this client).
        public static let malformedJSON = Code(.malformedJSON)
        /// A value the daemon does not accept, e.g. a config field out of range; also an invalid client configuration.
        public static let badRequest = Code(.badRequest)
        /// The daemon does not know the operation (an older daemon).
        public static let unknownOp = Code(.unknownOp)
        /// The breaker name is not 1–200 bytes of `A-Z a-z 0-9 . _ : / -`.
        public static let invalidName = Code(.invalidName)
        /// No breaker of that name.
        public static let notFound = Code(.notFound)
        /// A request line over the daemon's limit.
        public static let lineTooLong = Code(.lineTooLong)
        /// The daemon is at a limit (too many connections).
        public static let overloaded = Code(.overloaded)
        /// The daemon could not do it, e.g. could not commit to disk.
        public static let `internal` = Code(.internal)
        /// The daemon is a standby of a cluster: `leader` names the one that leads, if known.
        public static let notLeader = Code(.notLeader)
        /// No connection to the daemon right now.
        public static let unavailable = Code(rawValue: "unavailable")
        /// The daemon did not answer within the configured time; the connection was dropped.
        public static let timedOut = Code(rawValue: "timed_out")
        /// The daemon sent something protocol v1 does not allow; the connection was dropped.
        public static let protocolViolation = Code(rawValue: "protocol_violation")
        /// The connection closed before the answer came.
        public static let connectionClosed = Code(rawValue: "connection_closed")
        /// The client was shut down.
        public static let shutDown = Code(rawValue: "shut_down")
    }

    /// What went wrong, for code to switch on.
    public var code: Code
    /// What went wrong, for humans; may change between versions.
    public var message: String

    /// An error with `code` and `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    init(_ error: WireError) {
        self.init(Code(error.code), error.message)
        leader = error.leader
    }

    /// With `notLeader`: the leader's `HOST:PORT` as the standby named it (nil when it knows none).
    public var leader: String?

    /// True for failures of the transport rather than answers from the daemon: the cases in
    /// which the fallback decides.
    var isTransportFailure: Bool {
        [.unavailable, .timedOut, .protocolViolation, .connectionClosed, .shutDown, .overloaded, .internal].contains(code)
    }

    /// True when the connection failed before the answer came (closed, timed out, or garbled by
    /// the daemon): the request may or may not have been carried out. An error reply, even
    /// `internal` or `overloaded`, is an answer and is not one of these.
    var isConnectionFailure: Bool {
        [.connectionClosed, .timedOut, .protocolViolation].contains(code)
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
