import NIOCore
import NIOHTTP1
import Synchronization

/// One kept-alive upstream connection, its response parts read ahead into a bounded queue
/// (`ResponsePartQueue`). Used by one task at a time: the pool's lock hands it over, and the response reading
/// from it owns it until the body ends.
public final class UpstreamConnectionHandle: Sendable {
    let channel: any Channel
    let queue: ResponsePartQueue
    let origin: OriginKey
    /// False once a response said `Connection: close` (or was HTTP/1.0 without keep-alive).
    private let reusable = Atomic<Bool>(true)

    init(channel: any Channel, queue: ResponsePartQueue, origin: OriginKey) {
        self.channel = channel
        self.queue = queue
        self.origin = origin
    }

    var keepAlive: Bool { self.reusable.load(ordering: .relaxed) }

    func write(_ head: HTTPRequestHead) async throws {
        self.channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await self.channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
    }

    /// The next response part; an upstream silent for the client's idle timeout while this waits is cut
    /// (`UpstreamFetchError.timeout`), so a stalled transfer cannot hold a blob fill, and everyone waiting on
    /// it, forever.
    func next() async throws -> HTTPClientResponsePart? {
        let queue = self.queue
        let channel = self.channel
        let (part, timedOut) = try await withTaskCancellationHandler {
            try await queue.next()
        } onCancel: {
            channel.close(promise: nil)
        }
        if timedOut { throw UpstreamFetchError.timeout }
        if case .head(let head)? = part, !head.isKeepAlive { self.reusable.store(false, ordering: .relaxed) }
        return part
    }

    func close() { self.channel.close(promise: nil) }
}

/// An upstream response whose body has not been read yet. Reading it to the end gives the connection back for
/// reuse; a response dropped before its end closes the connection (its unread bytes would corrupt the next one).
public final class UpstreamResponse: Sendable {
    public let head: HTTPResponseHead
    let connection: UpstreamConnectionHandle
    private let client: RegistryHTTPClient
    private let state: Mutex<(done: Bool, reading: Bool)>

    init(head: HTTPResponseHead, connection: UpstreamConnectionHandle, client: RegistryHTTPClient, hasBody: Bool) {
        self.head = head
        self.connection = connection
        self.client = client
        self.state = Mutex((done: false, reading: false))
        if !hasBody {
            // HEAD, 204, 304: the decoder still sends `.end`, which is read when the body is asked for or dropped.
        }
    }

    deinit {
        if !self.state.withLock({ $0.done }) { self.connection.close() }
    }

    public var status: Int { Int(self.head.status.code) }

    public func header(_ name: String) -> String? { self.head.headers.first(name: name) }

    /// The declared `Content-Length`, if any and valid.
    public var contentLength: Int? {
        guard let text = self.header("content-length"), let value = Int(text), value >= 0 else { return nil }
        return value
    }

    /// The next piece of the body, nil at its end. One reader at a time.
    public func nextChunk() async throws -> ByteBuffer? {
        if self.state.withLock({ $0.done }) { return nil }
        while true {
            guard let part = try await self.connection.next() else {
                throw UpstreamFetchError.protocolError("connection closed in the middle of the body")
            }
            switch part {
            case .head: throw UpstreamFetchError.protocolError("a second response head")
            case .body(let buffer): return buffer
            case .end:
                self.state.withLock { $0.done = true }
                self.client.release(self.connection)
                return nil
            }
        }
    }

    /// The whole body, refusing one larger than `limit` bytes.
    public func collect(limit: Int) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        while var chunk = try await self.nextChunk() {
            guard collected.readableBytes + chunk.readableBytes <= limit else {
                throw UpstreamFetchError.protocolError("body larger than \(limit) bytes")
            }
            collected.writeBuffer(&chunk)
        }
        return collected
    }

    /// Reads and drops the rest of a small body so the connection can be reused (error pages, redirects).
    public func discard() async {
        if self.contentLength.map({ $0 > 64 * 1024 }) == true { return }   // not worth it: the connection closes
        _ = try? await self.collect(limit: 64 * 1024)
    }

    /// The body as chunks of bytes, for the blob store; `onChunk` sees each chunk's size as it is read (stats),
    /// without another stream layered on top.
    public func body(onChunk: (@Sendable (Int) -> Void)? = nil) -> AsyncThrowingStream<ByteBuffer, any Error> {
        AsyncThrowingStream { () async throws -> ByteBuffer? in
            let chunk = try await self.nextChunk()
            if let chunk { onChunk?(chunk.readableBytes) }
            return chunk
        }
    }
}
