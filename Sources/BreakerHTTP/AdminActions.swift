import BreakerServer
import BreakerWire
import Logging
import NIOHTTP1

/// `POST /api/admin`: the status page's force-open, release and reset. The body is the protocol's
/// own request line (`{"op":"force-open","breaker":"…","reason":"…"}`), decoded by the protocol's
/// decoder; the token comes as `Authorization: Bearer …` (no cookies, so no CSRF) and is checked
/// by the same `AdminTokens.authenticate` as `auth` (constant time, never logged). The change
/// runs through the same `BreakerRegistry.execute` as on the protocol, with the token's name as
/// actor, and is answered once committed, with the protocol's reply.
struct AdminActions: Sendable {
    static let disabledReason = "breakerd runs without --admin-token-file, so the page cannot change breakers"
    /// The protocol's own answer to a wrong token (see `auth` in PROTOCOL.md).
    static let invalidToken = "invalid admin token"
    static let missingToken = "an admin token is required: send Authorization: Bearer <token>"
    static let ops: Set<Op> = [.forceOpen, .release, .reset]

    let serving: ServingRegistry
    let tokens: AdminTokens?

    var enabled: Bool { tokens != nil }

    func run(_ request: HTTPRequest, logger: Logger, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let tokens else {
            return completion(HTTPResponse(status: .forbidden, contentType: HTTPResponse.jsonType,
                                           body: ReplyEncoder.encode(WireError(.unauthorized, Self.disabledReason), id: nil)))
        }
        let challenge = [("WWW-Authenticate", "Bearer")]
        guard let token = request.bearerToken else {
            return completion(StatusPage.failure(WireError(.unauthorized, Self.missingToken), extraHeaders: challenge))
        }
        guard let actor = tokens.authenticate(token) else {
            logger.warning("admin authentication failed", metadata: ["code": "unauthorized", "via": "http"])
            return completion(StatusPage.failure(WireError(.unauthorized, Self.invalidToken), extraHeaders: challenge))
        }
        guard !request.bodyTooLarge else {
            return completion(.error(.payloadTooLarge, "request body over \(HTTPRequest.maxBodyBytes) bytes"))
        }
        let command: Command
        let id: JSONValue?
        switch request.body.withUnsafeBytes({ RequestDecoder.decode($0) }) {
        case .failure(let failure):
            return completion(StatusPage.failure(failure.error))
        case .success(let decoded):
            guard Self.ops.contains(decoded.command.op) else {
                return completion(StatusPage.failure(WireError(.badRequest, "the page's actions are force-open, release and reset")))
            }
            (command, id) = (decoded.command, decoded.id)
        }
        let breaker: String = switch command {
        case .forceOpen(let name, _), .release(let name), .reset(let name): name
        default: "-"
        }
        logger.notice("admin action", metadata: ["op": "\(command.op.rawValue)", "breaker": "\(breaker)", "actor": "\(actor)", "via": "http"])
        let registry = serving.registry
        switch registry.handle(command, caller: Caller(actor: actor, reporter: nil)) {
        case .replyAfterCommit(let reply, let scope):
            registry.whenCommitted(scope) { result in
                switch result {
                case .success: completion(.json(.ok, ReplyEncoder.encode(reply, id: id)))
                case .failure(let error):
                    completion(StatusPage.failure(WireError(.internal, "change not persisted: \(error.message)")))
                }
            }
        case .reply(let reply): completion(.json(.ok, ReplyEncoder.encode(reply, id: id)))
        case .error(let error): completion(StatusPage.failure(error))
        default: completion(StatusPage.failure(WireError(.internal, "unexpected answer to \(command.op.rawValue)")))
        }
    }
}
