import NIOCore
import NIOHTTP1

/// A message as the byte-level HTTP/1 codecs deliver it: the head as the bytes it arrived in (with an index of
/// its fields), then the body as slices of what was read, then the end.
enum HTTP1InboundPart {
    case head(HTTP1Head)
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

/// A head already written as bytes, with how its body is to be framed on the wire.
struct EncodedHead {
    var bytes: ByteBuffer
    /// The body parts that follow are sent as chunks (the head says `transfer-encoding: ... chunked`).
    var chunked: Bool
    /// A request whose response has no body whatever its head says (`HEAD`).
    var isHEAD = false
}

/// What the downstream handler writes: heads it built as bytes (proxied responses), heads of its own answers
/// (local replies, the registry responder) for the codec to write, bodies and ends.
enum DownstreamResponsePart {
    case head(HTTPResponseHead)
    case encodedHead(EncodedHead)
    case body(IOData)
    case end(HTTPHeaders?)

    var isEnd: Bool {
        if case .end = self { return true }
        return false
    }
}

/// What an exchange writes to its upstream connection.
enum UpstreamRequestPart {
    case head(EncodedHead)
    case body(IOData)
    case end(HTTPHeaders?)

    var isEnd: Bool {
        if case .end = self { return true }
        return false
    }
}
