import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import NIOHTTP1
import ProxyCore

/// A blob's bytes as a response body: whole (200), one range (206 with `Content-Range`), or several ranges
/// (206 `multipart/byteranges`), read from a stored blob or from a fill still in progress.
enum BlobBody {
    /// Builds the response for `ranges` of a blob of `size` bytes. `onEnd` runs when the body is done or dropped.
    static func response(fill: BlobFill, size: Int, ranges: ByteRanges, headers base: HTTPHeaders,
                         isHead: Bool, storedAt path: String? = nil, fileSegments: Bool = false,
                         onEnd end: @escaping @Sendable (Int) -> Void) -> ResponderResponse {
        let once = Once(end)
        let onEnd: @Sendable (Int) -> Void = { once.call($0) }
        /// A stored blob goes out with sendfile where the connection allows (the stream is the fallback); a blob
        /// still arriving goes out with sendfile as it grows.
        func body(_ offset: Int, _ length: Int) -> ResponderResponse.Body {
            let stream = Self.stream(fill, [(offset, length)], onEnd: onEnd)
            guard let path else {
                guard fileSegments else { return .stream(stream) }
                let cursor = SegmentCursor(reader: BlobReader(fill), offset: offset, length: length, onEnd: onEnd)
                return .segments(AsyncThrowingStream { try await cursor.next() })
            }
            return .file(ResponderResponse.FileBody(path: path, offset: offset, length: length, fallback: stream, onEnd: onEnd))
        }
        var headers = base
        headers.replaceOrAdd(name: "accept-ranges", value: "bytes")
        switch ranges {
        case .whole:
            headers.replaceOrAdd(name: "content-length", value: String(size))
            return ResponderResponse(status: .ok, headers: headers,
                                     body: isHead ? .empty : body(0, size))
        case .unsatisfiable:
            onEnd(0)
            headers.replaceOrAdd(name: "content-range", value: "bytes */\(size)")
            headers.replaceOrAdd(name: "content-length", value: "0")
            return ResponderResponse(status: .rangeNotSatisfiable, headers: headers)
        case .partial(let list) where list.count == 1:
            let range = list[0]
            headers.replaceOrAdd(name: "content-range", value: "bytes \(range.lowerBound)-\(range.upperBound)/\(size)")
            headers.replaceOrAdd(name: "content-length", value: String(range.count))
            return ResponderResponse(status: .partialContent, headers: headers,
                                     body: isHead ? .empty : body(range.lowerBound, range.count))
        case .partial(let list):
            let boundary = "mirrord-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let contentType = headers.first(name: "content-type") ?? "application/octet-stream"
            var pieces: [(prefix: String, offset: Int, length: Int)] = []
            var total = 0
            for (position, range) in list.enumerated() {
                let prefix = (position == 0 ? "" : "\r\n") + "--\(boundary)\r\nContent-Type: \(contentType)\r\n"
                    + "Content-Range: bytes \(range.lowerBound)-\(range.upperBound)/\(size)\r\n\r\n"
                pieces.append((prefix, range.lowerBound, range.count))
                total += prefix.utf8.count + range.count
            }
            let epilogue = "\r\n--\(boundary)--\r\n"
            total += epilogue.utf8.count
            headers.replaceOrAdd(name: "content-type", value: "multipart/byteranges; boundary=\(boundary)")
            headers.replaceOrAdd(name: "content-length", value: String(total))
            return ResponderResponse(status: .partialContent, headers: headers,
                                     body: isHead ? .empty : .stream(Self.multipart(fill, pieces, epilogue: epilogue, onEnd: onEnd)))
        }
    }

    /// The bytes of `segments` (offset, length) in order.
    static func stream(_ fill: BlobFill, _ segments: [(Int, Int)], onEnd: @escaping @Sendable (Int) -> Void)
    -> AsyncThrowingStream<ByteBuffer, any Error> {
        let pieces = segments.map { (prefix: "", offset: $0.0, length: $0.1) }
        return Self.multipart(fill, pieces, epilogue: "", onEnd: onEnd)
    }

    static func multipart(_ fill: BlobFill, _ pieces: [(prefix: String, offset: Int, length: Int)], epilogue: String,
                          onEnd: @escaping @Sendable (Int) -> Void) -> AsyncThrowingStream<ByteBuffer, any Error> {
        let cursor = BodyCursor(reader: BlobReader(fill), pieces: pieces, epilogue: epilogue, onEnd: onEnd)
        return AsyncThrowingStream { try await cursor.next() }
    }
}

/// Walks one range of a blob as file segments: each is what the file holds so far (up to 16 MiB), sent with
/// sendfile by the data plane, so a blob still arriving costs no copy through user space.
final class SegmentCursor: Sendable {
    private let reader: BlobReader
    private let position: Mutex<(offset: Int, remaining: Int, sent: Int, done: Bool)>
    private let onEnd: @Sendable (Int) -> Void

    init(reader: BlobReader, offset: Int, length: Int, onEnd: @escaping @Sendable (Int) -> Void) {
        self.reader = reader
        self.position = Mutex((offset, length, 0, false))
        self.onEnd = onEnd
    }

    deinit {
        let (sent, done) = self.position.withLock { ($0.sent, $0.done) }
        if !done { self.onEnd(sent) }
    }

    func next() async throws -> ResponderResponse.BodySegment? {
        let current = self.position.withLock { $0 }
        guard current.remaining > 0 else {
            if !current.done {
                self.position.withLock { $0.done = true }
                self.onEnd(current.sent)
            }
            return nil
        }
        let (descriptor, end) = try await self.reader.extent(at: current.offset)
        let length = min(current.remaining, end - current.offset, 16 << 20)
        guard length > 0 else {
            close(descriptor)
            throw FileBlobStore.StoreError.io("blob ended early")
        }
        self.position.withLock { position in
            position.offset += length
            position.remaining -= length
            position.sent += length
        }
        return .file(OwnedDescriptor(descriptor), offset: current.offset, length: length)
    }
}

/// Runs a callback at most once, however many paths reach it.
final class Once: Sendable {
    private let callback: Mutex<(@Sendable (Int) -> Void)?>

    init(_ callback: @escaping @Sendable (Int) -> Void) { self.callback = Mutex(callback) }

    func call(_ value: Int) {
        let callback = self.callback.withLock { stored -> (@Sendable (Int) -> Void)? in
            defer { stored = nil }
            return stored
        }
        callback?(value)
    }
}

/// Walks the pieces of a body, pulling from the blob only when the consumer asks: the connection's pace is
/// the read pace, so a slow client costs no memory.
final class BodyCursor: Sendable {
    private struct Position {
        var piece = 0
        var offset = 0
        var remaining = 0
        var prefixSent = false
        var sent = 0
        var done = false
    }

    private let reader: BlobReader
    private let pieces: [(prefix: String, offset: Int, length: Int)]
    private let epilogue: String
    private let onEnd: @Sendable (Int) -> Void
    private let position = Mutex(Position())

    init(reader: BlobReader, pieces: [(prefix: String, offset: Int, length: Int)], epilogue: String,
         onEnd: @escaping @Sendable (Int) -> Void) {
        self.reader = reader
        self.pieces = pieces
        self.epilogue = epilogue
        self.onEnd = onEnd
        if let first = pieces.first { self.position.withLock { $0.offset = first.offset; $0.remaining = first.length } }
    }

    deinit {
        let (done, sent) = self.position.withLock { ($0.done, $0.sent) }
        if !done { self.onEnd(sent) }
    }

    func next() async throws -> ByteBuffer? {
        let current = self.position.withLock { $0 }
        if current.done { return nil }
        guard current.piece < self.pieces.count else {
            self.position.withLock { $0.done = true }
            self.onEnd(current.sent)
            return nil
        }
        let piece = self.pieces[current.piece]
        if !current.prefixSent {
            self.position.withLock { $0.prefixSent = true }
            if !piece.prefix.isEmpty { return ByteBuffer(string: piece.prefix) }
        }
        if current.remaining == 0 {
            let nextIndex = current.piece + 1
            self.position.withLock { position in
                position.piece = nextIndex
                position.prefixSent = false
                if nextIndex < self.pieces.count {
                    position.offset = self.pieces[nextIndex].offset
                    position.remaining = self.pieces[nextIndex].length
                }
            }
            if nextIndex == self.pieces.count, !self.epilogue.isEmpty { return ByteBuffer(string: self.epilogue) }
            return try await self.next()
        }
        let bytes = try await self.reader.read(at: current.offset, upTo: min(current.remaining, 256 * 1024))
        guard bytes.readableBytes > 0 else { throw FileBlobStore.StoreError.io("blob ended early") }
        self.position.withLock { position in
            position.offset += bytes.readableBytes
            position.remaining -= bytes.readableBytes
            position.sent += bytes.readableBytes
        }
        return bytes
    }
}
