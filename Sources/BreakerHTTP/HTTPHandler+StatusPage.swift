import NIOCore
import NIOHTTP1

/// The status page's side of a connection: its plain routes, and `GET /events`, which keeps the
/// response open and writes Server-Sent Events from an `EventStream` into it.
extension HTTPHandler: EventStreamSink {
    static let heartbeatInterval: TimeAmount = .seconds(15)

    static func path(_ uri: String) -> String {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
    }

    func respondForStatusPage(_ page: StatusPage, _ request: HTTPRequest, head: HTTPRequestHead) {
        guard let context else { return }
        if request.bodyTooLarge {
            return write(.error(.payloadTooLarge, "request body over \(HTTPRequest.maxBodyBytes) bytes"), for: head)
        }
        if request.path == "/events" && request.method == .GET {
            return startEventStream(page, head: head, context: context)
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        page.respond(request, logger: logger) { response in
            bound.eventLoop.execute { bound.value.write(response, for: head) }
        }
    }

    /// Writes the response head (no length: the body is chunked and never ends on its own),
    /// joins the hub, and keeps the stream alive with a comment every `heartbeatInterval`.
    private func startEventStream(_ page: StatusPage, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream; charset=utf-8")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Accel-Buffering", value: "no")  // nginx: pass events on at once
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        let stream = EventStream(sink: self, eventLoop: context.eventLoop, stats: page.events.stats)
        self.stream = stream
        hub = page.events
        page.events.add(stream)
        // After joining: a client that has read this is registered (tests wait for it).
        writeEvents(EventFrames.opening)
        heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: Self.heartbeatInterval, delay: Self.heartbeatInterval) { _ in
            stream.enqueue(EventFrames.heartbeat)
        }
    }

    func stopEventStream() {
        guard let stream else { return }
        self.stream = nil
        heartbeat?.cancel()
        heartbeat = nil
        hub?.remove(stream)
        hub = nil
    }

    func endEvents() {
        guard let context else { return }
        stopEventStream()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func writeEvents(_ bytes: [UInt8]) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
    }
}
