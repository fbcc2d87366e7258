import NIOCore
import ProxyConfig

/// Decodes a chunked body (RFC 9112 §7.1) from bytes as they arrive, handing out the data as slices of what was
/// read (no copy) and stopping exactly at the body's end, so bytes of a following message stay with the caller.
/// Strict like `HTTP1HeadParser`: hex sizes of at most 15 digits, extensions after `;` (ignored), CRLF after
/// every chunk, trailer fields checked like header fields.
struct HTTP1ChunkedDecoder {
    private enum State {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
        case done
    }

    private var state = State.size
    /// How much of the trailer block was already searched for its end.
    private var trailersScanned = 0
    static let maxLineBytes = 4096

    /// What the next bytes of a chunked body were: chunk data, or the end with its trailer fields.
    enum Event {
        case data(ByteBuffer)
        case end([(String, String)])
    }

    /// The next piece of the body from `input` (consuming only body bytes), or nil while more bytes are needed.
    /// One piece per call, so the caller can hand it on before the decoder is touched again.
    mutating func next(_ input: inout ByteBuffer) throws(HTTP1HeadError) -> Event? {
        while true {
            switch self.state {
            case .size:
                guard let line = try Self.line(&input) else { return nil }
                let size = try Self.chunkSize(line)
                self.state = size == 0 ? .trailers : .data(remaining: size)
            case .data(let remaining):
                guard input.readableBytes > 0 else { return nil }
                let count = min(remaining, input.readableBytes)
                self.state = count == remaining ? .dataEnd : .data(remaining: remaining - count)
                return .data(input.readSlice(length: count)!)
            case .dataEnd:
                guard input.readableBytes >= 2 else { return nil }
                guard input.readInteger(as: UInt16.self) == 0x0D0A else { throw .badChunk }
                self.state = .size
            case .trailers:
                guard let length = try HTTP1HeadParser.headLength(input, maxBytes: 60 * 1024, allowEmpty: true,
                                                                         scanned: &self.trailersScanned)
                else { return nil }
                let fields = try input.withUnsafeReadableBytes { raw throws(HTTP1HeadError) in
                    try HTTP1HeadParser.fields(UnsafeRawBufferPointer(rebasing: raw[..<length]), from: 0, maxFields: 100)
                        .map { (String(decoding: raw[$0.name], as: UTF8.self), String(decoding: raw[$0.value], as: UTF8.self)) }
                }
                input.moveReaderIndex(forwardBy: length)
                self.state = .done
                return .end(fields)
            case .done:
                return .end([])
            }
        }
    }

    /// Takes what it can from `input` and passes chunk data to `emit`. Returns the trailer fields (often none)
    /// once the body has ended, nil while more bytes are needed.
    mutating func decode(_ input: inout ByteBuffer, emit: (ByteBuffer) -> Void) throws(HTTP1HeadError) -> [(String, String)]? {
        while let event = try self.next(&input) {
            switch event {
            case .data(let slice): emit(slice)
            case .end(let trailers): return trailers
            }
        }
        return nil
    }

    /// One CRLF-terminated line without its ending, consumed from `input` once all of it is there.
    private static func line(_ input: inout ByteBuffer) throws(HTTP1HeadError) -> [UInt8]? {
        guard let newline = input.readableBytesView.firstIndex(of: 0x0A) else {
            if input.readableBytes > Self.maxLineBytes { throw .badChunk }
            return nil
        }
        let length = newline - input.readerIndex
        guard length >= 1, input.getInteger(at: newline - 1, as: UInt8.self) == 0x0D else { throw .bareLineFeed }
        let line = input.readBytes(length: length - 1)!
        input.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// `1*HEXDIG [BWS ";" extensions]`
    static func chunkSize(_ line: [UInt8]) throws(HTTP1HeadError) -> Int {
        var size = 0
        var digits = 0
        var index = 0
        while index < line.count, let value = Self.hexValue(line[index]) {
            digits += 1
            guard digits <= 15 else { throw .badChunk }
            size = size * 16 + value
            index += 1
        }
        guard digits > 0 else { throw .badChunk }
        while index < line.count, line[index] == 0x20 || line[index] == 0x09 { index += 1 }
        guard index == line.count || line[index] == UInt8(ascii: ";") else { throw .badChunk }
        guard line[index...].allSatisfy({ ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }) else { throw .badChunk }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x41...0x46: return Int(byte - 0x41 + 10)
        case 0x61...0x66: return Int(byte - 0x61 + 10)
        default: return nil
        }
    }
}
