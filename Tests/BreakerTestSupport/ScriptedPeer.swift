import NIOCore
import NIOPosix
import Synchronization

/// A small protocol peer on 127.0.0.1 that is not breakerd: it answers each request line with
/// what `answer` says (nil: the documented reply of a healthy daemon; see `defaultReply`), and
/// after a `watch` asking for `heartbeat_ms` pushes a heartbeat event on that connection at that
/// interval. It counts the pings it got on watch connections and on the others, so tests can
/// see which connections a client keeps alive. A peer speaking the wire protocol, not a
/// stand-in for one of our components.
public final class ScriptedPeer: Sendable {
    /// How to answer one line: `(line, op, id)` → the reply line, or nil for `defaultReply`.
    public typealias Answer = @Sendable (_ line: String, _ op: String, _ id: String) -> String?

    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    public let tally = Tally()
    public var port: Int { channel.localAddress!.port! }
    public var address: String { "127.0.0.1:\(port)" }

    public init(answer: @escaping Answer = { _, _, _ in nil }) async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counts = tally
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TextLines()))
                    try channel.pipeline.syncOperations.addHandler(Answerer(answer: answer, counts: counts))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        channel = bound
    }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// The reply of a healthy daemon with one closed breaker at generation 1.
    public static func defaultReply(op: String, id: String) -> String {
        switch op {
        case "ping": #"{"ok":true,"id":\#(id),"version":"0.1.0"}"#
        case "should-attempt": #"{"ok":true,"id":\#(id),"allow":true,"state":"closed","generation":1,"cache_ms":100}"#
        case "record-success", "record-failure": #"{"ok":true,"id":\#(id),"state":"closed","generation":1}"#
        default: #"{"ok":true,"id":\#(id)}"#  // watch, hello
        }
    }

    /// The `not_leader` error a standby sends, naming `leader` when it knows one.
    public static func notLeader(id: String, leader: String?) -> String {
        let named = leader.map { #","leader":"\#($0)""# } ?? ""
        return #"{"ok":false,"id":\#(id),"error":{"code":"not_leader","message":"this daemon is a standby"\#(named)}}"#
    }

    /// What the peer received.
    public final class Tally: Sendable {
        /// Pings received on connections that sent `watch`, and on the others.
        public let watchPings = Atomic<Int>(0), otherPings = Atomic<Int>(0)
        /// Request lines received, all connections.
        public let lines = Atomic<Int>(0)

        func count(ping watching: Bool) {
            if watching { watchPings.add(1, ordering: .relaxed) } else { otherPings.add(1, ordering: .relaxed) }
        }
        func countLine() { lines.add(1, ordering: .relaxed) }
    }

    private final class Answerer: ChannelInboundHandler {
        typealias InboundIn = String
        typealias OutboundOut = ByteBuffer
        let answer: Answer
        let counts: Tally
        var watching = false
        var heartbeat: RepeatedTask?

        init(answer: @escaping Answer, counts: Tally) {
            self.answer = answer
            self.counts = counts
        }

        static func field(_ name: String, in line: String) -> String? {
            guard let range = line.range(of: #""\#(name)":"#) else { return nil }
            let rest = line[range.upperBound...].drop { $0 == "\"" }
            return String(rest.prefix { $0 != "\"" && $0 != "," && $0 != "}" })
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let line = unwrapInboundIn(data)
            counts.countLine()
            let op = Self.field("op", in: line) ?? ""
            let id = Self.field("id", in: line) ?? "0"
            if op == "ping" { counts.count(ping: watching) }
            let reply = answer(line, op, id) ?? ScriptedPeer.defaultReply(op: op, id: id)
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: reply + "\n")), promise: nil)
            if op == "watch", reply.contains(#""ok":true"#) {
                watching = true
                if heartbeat == nil, let ms = Self.field("heartbeat_ms", in: line).flatMap({ Int64($0) }) {
                    let channel = context.channel
                    heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(ms), delay: .milliseconds(ms)) { _ in
                        channel.writeAndFlush(ByteBuffer(string: #"{"event":"heartbeat","at":"2026-01-01T00:00:00.000Z"}"# + "\n"), promise: nil)
                    }
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            heartbeat?.cancel()
            context.fireChannelInactive()
        }
    }
}

/// Lines of text, for the test servers (no length limit: they only meet our own clients).
public struct TextLines: ByteToMessageDecoder {
    public typealias InboundOut = String
    public init() {}
    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return .needMoreData }
        let line = buffer.readString(length: newline - buffer.readerIndex)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}
