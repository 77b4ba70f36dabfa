import Logging
import NIOCore
import NIOHTTP1

/// One HTTP connection, behind NIO's request decoder (bounded headers), pipelining handler (one
/// request at a time, in order; quiescing on shutdown) and protocol error handler (400 and close
/// on anything unparsable).
///
/// Request bodies are buffered only for the status page's routes (its admin actions), and only up
/// to `HTTPRequest.maxBodyBytes`: past it the request is answered 413 and the connection closed.
/// Any other body is read and dropped, and the answer comes after the request's end, so a
/// pipelined request after it is parsed correctly. HEAD gets the GET headers, with the length
/// the body would have, and no body. `GET /events` turns the connection into an event stream
/// (see `HTTPHandler+EventStream.swift`).
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: ObservabilityEndpoints
    let logger: Logger
    var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    /// A response is being produced; an idle timeout then must not cut it off.
    var responding = false
    /// The status page's request body so far, and whether it passed the bound.
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    /// Set once this connection serves `/events`.
    var stream: EventStream?
    var heartbeat: RepeatedTask?
    var hub: EventHub?

    init(endpoints: ObservabilityEndpoints, logger: Logger) {
        self.endpoints = endpoints
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        stopEventStream()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            bodyTooLarge = false
        case .body(let chunk):
            guard let head, endpoints.statusPage?.handles(Self.path(head.uri)) == true else { break }
            if body.count + chunk.readableBytes > HTTPRequest.maxBodyBytes {
                bodyTooLarge = true
            } else {
                body += chunk.readableBytesView
            }
        case .end:
            guard let head else { return }
            self.head = nil
            responding = true
            if let page = endpoints.statusPage, page.handles(Self.path(head.uri)) {
                return respondForStatusPage(page, HTTPRequest(head: head, body: body, bodyTooLarge: bodyTooLarge), head: head)
            }
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            endpoints.respond(method: head.method, uri: head.uri, on: context.eventLoop) { response in
                bound.eventLoop.execute { bound.value.write(response, for: head) }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if !responding { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { stream?.flush() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopEventStream()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("http connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func write(_ response: HTTPResponse, for request: HTTPRequestHead) {
        responding = false
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in response.extraHeaders { headers.add(name: name, value: value) }
        let keepAlive = request.isKeepAlive && response.status != .payloadTooLarge
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version.major == 1 && request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let version = request.version.major == 1 && request.version.minor == 0 ? HTTPVersion.http1_0 : .http1_1
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
                      promise: nil)
        if request.method != .HEAD && !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))),
                          promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
