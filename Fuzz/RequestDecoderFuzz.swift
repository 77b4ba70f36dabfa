import BreakerWire

/// libFuzzer entry: one input is one request line, as the line decoder would hand it over.
/// Whatever the bytes, decoding must return (a request or an error with a code), never crash,
/// and a decoded request's reply must encode to one line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    // The line decoder never passes a '\n' on; split like it does, so each piece is a line.
    var start = 0
    for index in 0...size where index == size || bytes[index] == UInt8(ascii: "\n") {
        let line = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        switch RequestDecoder.decode(line) {
        case .success(let request):
            _ = ReplyEncoder.encode(.pong(version: "fuzz"), id: request.id)
        case .failure(let failure):
            let encoded = ReplyEncoder.encode(failure.error, id: failure.id)
            precondition(encoded.last == UInt8(ascii: "\n") && encoded.dropLast().firstIndex(of: UInt8(ascii: "\n")) == nil,
                         "an error reply is not one line")
        }
        start = index + 1
    }
    return 0
}
