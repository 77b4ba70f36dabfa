import PostgresNIO

/// A binary-format cell's value, read straight from the bytes postgres-nio received (the
/// loaders skip `PostgresCell.decode`: a takeover reads a million rows). One reading for every
/// loader: int8 is 8 big-endian bytes, text its UTF-8 bytes, bool one byte 0 or 1; any other
/// length is nil, for the caller to report as corrupt.
extension ByteBuffer {
    var binaryInt8: Int64? {
        readableBytes == 8 ? getInteger(at: readerIndex, endianness: .big, as: Int64.self) : nil
    }

    var binaryText: String? { getString(at: readerIndex, length: readableBytes) }

    var binaryBool: Bool? {
        guard readableBytes == 1 else { return nil }
        switch getInteger(at: readerIndex, as: UInt8.self) {
        case 0: return false
        case 1: return true
        default: return nil
        }
    }
}
