import BreakerServer
import BreakerWire
import Logging
import NIOHTTP1

/// Whether the status page is served, and who may use its admin actions.
public struct StatusPageSettings: Sendable {
    /// The tokens of `--admin-token-file`; without them the page shows its actions disabled
    /// and `POST /api/admin` refuses every change.
    public var adminTokens: AdminTokens?

    public init(adminTokens: AdminTokens? = nil) {
        self.adminTokens = adminTokens
    }
}

/// The live status page and the routes behind it: the page itself (`/` and its `assets`,
/// compiled into the binary), the event stream (`/events`), read-only JSON
/// (`/api/info`, `/api/breakers` — all, or the first screen with `?limit=` (`TileSelection`) —,
/// `/api/breaker`, `/api/history`) and the admin actions
/// (`POST /api/admin`). Every JSON body uses the protocol's field names (`ReplyEncoder`).
final class StatusPage: Sendable {
    /// The page and the files it loads, by path.
    static let assets: [String: (bytes: [UInt8], type: String)] = [
        "/": (PackageResources.status_html, htmlType),
        "/status.css": (PackageResources.status_css, cssType),
        "/status.js": (PackageResources.status_js, jsType),
        "/tiles.js": (PackageResources.tiles_js, jsType),
        "/detail.js": (PackageResources.detail_js, jsType),
    ]
    static let getRoutes = Set(assets.keys).union(["/events", "/api/info", "/api/breakers", "/api/breaker", "/api/history"])
    static let postRoutes: Set<String> = ["/api/admin"]
    static var routes: [String] { getRoutes.sorted() + postRoutes.sorted() }

    static let htmlType = "text/html; charset=utf-8"
    static let cssType = "text/css; charset=utf-8"
    static let jsType = "text/javascript; charset=utf-8"
    /// Everything the page loads comes from this daemon; nothing inline, nothing framed.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]

    let serving: ServingRegistry
    var registry: BreakerRegistry { serving.registry }
    let actions: AdminActions
    let events: EventHub

    init(serving: ServingRegistry, settings: StatusPageSettings) {
        self.serving = serving
        self.actions = AdminActions(serving: serving, tokens: settings.adminTokens)
        self.events = EventHub(serving: serving)
    }

    func handles(_ path: String) -> Bool { Self.getRoutes.contains(path) || Self.postRoutes.contains(path) }

    /// Answers every route but `/events`, which `HTTPHandler` streams itself.
    func respond(_ request: HTTPRequest, logger: Logger, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let isPost = Self.postRoutes.contains(request.path)
        let allowed = isPost ? "POST" : (request.path == "/events" ? "GET" : "GET, HEAD")
        guard allowed.split(separator: ",").contains(where: { $0.trimmingPrefix(" ") == request.method.rawValue }) else {
            return completion(.error(.methodNotAllowed, "\(request.path) accepts \(allowed)", extraHeaders: [("Allow", allowed)]))
        }
        if let asset = Self.assets[request.path] { return completion(Self.asset(asset.bytes, asset.type)) }
        switch request.path {
        case "/api/info": completion(.json(.ok, info()))
        case "/api/breakers":
            // Walking and encoding every breaker is real work with many: never on an event loop.
            let registry = self.registry
            switch TileSelection.parse(request.query) {
            case nil:
                ObservabilityEndpoints.renderQueue.async { completion(.json(.ok, BreakerTiles.render(registry.snapshot()))) }
            case .success(let selection):
                ObservabilityEndpoints.renderQueue.async {
                    let screen = selection.choose(from: registry.glance())
                    completion(.json(.ok, BreakerTiles.render(screen, views: registry.views(screen.chosen))))
                }
            case .failure(let error):
                completion(Self.failure(error))
            }
        case "/api/breaker": inspect(request, completion)
        case "/api/history": history(request, completion)
        case "/api/admin": actions.run(request, logger: logger, completion: completion)
        default: completion(.error(.notFound, "no such endpoint"))
        }
    }

    private static func asset(_ bytes: [UInt8], _ type: String) -> HTTPResponse {
        HTTPResponse(status: .ok, contentType: type, body: bytes, extraHeaders: securityHeaders)
    }

    /// What the page needs before it draws: whether actions can work, and why not.
    private func info() -> [UInt8] {
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        w.field("version", BreakerServer.version)
        w.field("breaker_count", registry.breakerCount)
        w.field("actions", actions.enabled)
        if !actions.enabled { w.field("actions_disabled_reason", AdminActions.disabledReason) }
        w.endObject()
        return w.finishLine()
    }

    /// The page's reads change nothing and report nothing.
    private static let reader = Caller(actor: nil, reporter: nil)

    /// `GET /api/breaker?name=…`: the `inspect` reply.
    private func inspect(_ request: HTTPRequest, _ completion: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let name = Self.name(request, completion) else { return }
        switch registry.handle(.inspect(breaker: name), caller: Self.reader) {
        case .reply(let reply): completion(.json(.ok, ReplyEncoder.encode(reply, id: nil)))
        case .error(let error): completion(Self.failure(error))
        default: completion(Self.failure(WireError(.internal, "unexpected answer to inspect")))
        }
    }

    /// `GET /api/history?name=…&limit=…`: the `history` reply (newest first, actor and note kept).
    private func history(_ request: HTTPRequest, _ completion: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let name = Self.name(request, completion) else { return }
        let limit = request.query["limit"].flatMap { Int($0) } ?? 50
        guard (1...1000).contains(limit) else {
            return completion(Self.failure(WireError(.badRequest, "limit must be 1...1000")))
        }
        switch registry.handle(.history(breaker: name, limit: limit), caller: Self.reader) {
        case .readHistory(let breaker, let limit):
            registry.history(breaker, limit: limit) { result in
                switch result {
                case .success(let entries): completion(.json(.ok, ReplyEncoder.encode(.history(entries), id: nil)))
                case .failure(let error): completion(Self.failure(WireError(.internal, "cannot read history: \(error.message)")))
                }
            }
        case .error(let error): completion(Self.failure(error))
        default: completion(Self.failure(WireError(.internal, "unexpected answer to history")))
        }
    }

    private static func name(_ request: HTTPRequest, _ completion: @Sendable (HTTPResponse) -> Void) -> String? {
        guard let name = request.query["name"] else {
            completion(failure(WireError(.badRequest, "missing query parameter 'name'")))
            return nil
        }
        do throws(WireError) {
            try BreakerName.validate(name)
        } catch {
            completion(failure(error))
            return nil
        }
        return name
    }

    /// The protocol's error reply, with the HTTP status that fits its code.
    static func failure(_ error: WireError, extraHeaders: [(String, String)] = []) -> HTTPResponse {
        let status: HTTPResponseStatus = switch error.code {
        case .notFound: .notFound
        case .unauthorized: .unauthorized
        case .overloaded, .notLeader: .serviceUnavailable
        case .internal: .internalServerError
        default: .badRequest
        }
        return HTTPResponse(status: status, contentType: HTTPResponse.jsonType, body: ReplyEncoder.encode(error, id: nil),
                            extraHeaders: extraHeaders)
    }
}
