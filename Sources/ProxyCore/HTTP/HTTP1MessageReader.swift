import NIOCore
import NIOHTTP1

/// Turns the bytes of one connection into message parts, one part per call, for either side of the proxy: the
/// head through `HTTP1HeadParser`, then the body as its framing delimits it (slices of what was read, never
/// copied), then the end. Bytes after a message stay in the input for the next one (pipelining).
struct HTTP1MessageReader {
    private enum State {
        case head
        case length(remaining: Int)
        case chunked(HTTP1ChunkedDecoder)
        case untilClose
        /// The head (or the body) is complete: the end part is next.
        case end
    }

    /// Responses answer requests: nil reads requests.
    let readsResponses: Bool
    private var state = State.head
    /// How much of a head still arriving was already searched for its end.
    private var headScanned = 0
    /// Responses: the request being answered was `HEAD`, so its response has no body.
    var answeringHEAD = false

    init(readsResponses: Bool) {
        self.readsResponses = readsResponses
    }

    /// Bytes of an incomplete part, kept from one read for the next.
    private var kept: ByteBuffer?

    /// What to read parts from: the bytes kept from the last read, then `incoming`.
    mutating func input(_ incoming: ByteBuffer) -> ByteBuffer {
        guard var kept = self.kept.take() else { return incoming }
        var incoming = incoming
        kept.writeBuffer(&incoming)
        return kept
    }

    /// Keeps what `next` left unread for the next read; nothing is held once all of it was read.
    mutating func keep(_ rest: ByteBuffer) {
        self.kept = rest.readableBytes > 0 ? rest : nil
    }

    /// The connection ended: what was kept goes.
    mutating func dropKept() { self.kept = nil }

    /// Whether a message is partly read (a connection that ends now cut it short).
    var isMidMessage: Bool {
        if case .head = self.state { return false }
        return true
    }

    /// The next part from `input`, or nil until more bytes arrive. Throws on bytes that are not HTTP/1 as
    /// `HTTP1HeadParser` reads it; the connection must end then.
    mutating func next(_ input: inout ByteBuffer, maxHeadBytes: Int = 60 * 1024,
                       maxFields: Int = 100) throws(HTTP1HeadError) -> HTTP1InboundPart? {
        switch self.state {
        case .head:
            if !self.readsResponses {
                // RFC 9112 §2.2: an empty line before a request line is ignored (some clients send one after a body).
                while input.readableBytes >= 2, input.getInteger(at: input.readerIndex, as: UInt16.self) == 0x0D0A {
                    input.moveReaderIndex(forwardBy: 2)
                }
                // A CR alone may be the start of such a line: wait for what follows it.
                if input.readableBytes == 1, input.getInteger(at: input.readerIndex, as: UInt8.self) == 0x0D { return nil }
            }
            guard input.readableBytes > 0 else { return nil }
            let method: HTTPMethod? = self.readsResponses ? (self.answeringHEAD ? .HEAD : .GET) : nil
            guard let head = try HTTP1HeadParser.parse(input, responseTo: method, maxBytes: maxHeadBytes,
                                                       maxFields: maxFields, scanned: &self.headScanned) else { return nil }
            input.moveReaderIndex(forwardBy: head.bytes.readableBytes)
            switch head.framing {
            case .none: self.state = .end
            case .length(let length): self.state = .length(remaining: length)
            case .chunked: self.state = .chunked(HTTP1ChunkedDecoder())
            case .untilClose: self.state = .untilClose
            case .interim: self.state = .head
            }
            return .head(head)
        case .length(let remaining):
            guard input.readableBytes > 0 else { return nil }
            let count = min(remaining, input.readableBytes)
            self.state = count == remaining ? .end : .length(remaining: remaining - count)
            return .body(input.readSlice(length: count)!)
        case .chunked(var decoder):
            let event = try decoder.next(&input)
            switch event {
            case .data(let slice)?:
                self.state = .chunked(decoder)
                return .body(slice)
            case .end(let trailers)?:
                self.state = .head
                return .end(trailers.isEmpty ? nil : HTTPHeaders(trailers))
            case nil:
                self.state = .chunked(decoder)
                return nil
            }
        case .untilClose:
            guard input.readableBytes > 0 else { return nil }
            return .body(input.readSlice(length: input.readableBytes)!)
        case .end:
            self.state = .head
            return .end(nil)
        }
    }

    /// The connection's input ended: a body that runs until the close is complete (its end part is returned);
    /// nil otherwise.
    mutating func inputEnded() -> HTTP1InboundPart? {
        guard case .untilClose = self.state else { return nil }
        self.state = .head
        return .end(nil)
    }
}
