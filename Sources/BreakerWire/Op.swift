/// Every operation of the protocol, spelled once: the decoders, the encoder, the server's
/// metrics and the docs' op table all take the names from here.
public enum Op: String, CaseIterable, Sendable, Hashable {
    case ping
    case hello
    case shouldAttempt = "should-attempt"
    case recordSuccess = "record-success"
    case recordFailure = "record-failure"
    case recordBatch = "record-batch"
    case returnPermit = "return-permit"
    case inspect
    case list
    case configure
    case reset
    case watch
    case auth
    case forceOpen = "force-open"
    case release
    case history

    /// Ops that change a breaker by hand; they need an authenticated connection when the
    /// daemon has admin tokens.
    public var isAdminChange: Bool {
        switch self {
        case .configure, .reset, .forceOpen, .release: true
        default: false
        }
    }

    /// The kind of reply this op is answered with.
    public var replyKind: ReplyKind {
        switch self {
        case .ping: .pong
        case .shouldAttempt: .decision
        case .recordSuccess, .recordFailure, .returnPermit: .recorded
        case .recordBatch: .recordedBatch
        case .inspect, .configure, .reset, .forceOpen, .release: .breaker
        case .list: .list
        case .watch: .watching
        case .auth: .authenticated
        case .hello: .hello
        case .history: .history
        }
    }
}
