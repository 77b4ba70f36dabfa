import NIOCore

/// One frame of the protocol: a line without its terminator, or the news that a line grew
/// past the limit (after which the connection is answered once and closed).
enum LineFrame {
    case line(ByteBuffer)
    case tooLong
}

/// Splits the byte stream at `\n` (dropping a `\r` before it) and never buffers more than
/// `maxLength` bytes of one line.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = LineFrame

    let maxLength: Int
    /// Bytes already searched for a newline, so a slowly arriving long line is scanned once.
    private var scanned = 0
    private var failed = false

    init(maxLength: Int) {
        self.maxLength = maxLength
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if failed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        let view = buffer.readableBytesView
        guard let newline = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count > maxLength { fail(context, &buffer) }
            return .needMoreData
        }
        var length = newline - view.startIndex
        scanned = 0
        guard length <= maxLength + 1 else {
            fail(context, &buffer)
            return .needMoreData
        }
        let hasCR = length > 0 && view[newline - 1] == UInt8(ascii: "\r")
        if hasCR { length -= 1 }
        guard length <= maxLength else {
            fail(context, &buffer)
            return .needMoreData
        }
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: hasCR ? 2 : 1)
        context.fireChannelRead(NIOAny(LineFrame.line(line)))
        return .continue
    }

    /// At end of input a last line without a terminator still counts.
    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if !failed, buffer.readableBytes > 0, let line = buffer.readSlice(length: buffer.readableBytes) {
            scanned = 0
            context.fireChannelRead(NIOAny(LineFrame.line(line)))
        }
        return .needMoreData
    }

    private mutating func fail(_ context: ChannelHandlerContext, _ buffer: inout ByteBuffer) {
        failed = true
        buffer.moveReaderIndex(to: buffer.writerIndex)
        context.fireChannelRead(NIOAny(LineFrame.tooLong))
    }
}
