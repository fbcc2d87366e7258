import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import NIOHTTP1
import ProxyConfig

/// An HTTP filter that answers some requests itself instead of forwarding them: the registry mirror.
///
/// ProxyCore knows filters only through this protocol, so the proxy builds and runs without the registry code;
/// `mirrord` registers the registry's factory. A responder is built per configuration apply (it sees that
/// snapshot's clusters) and is pinned by each request like the route table; state that must outlive reloads
/// (caches, tokens) lives in the factory.
public protocol LocalResponder: Sendable {
    /// Whether this request is the responder's; cheap and synchronous, called on the event loop for every
    /// routed request of a connection manager that has the filter. False leaves the request to the router.
    func handles(_ request: ResponderRequest) -> Bool
    /// The answer. Runs off the event loop; cancelled when the client goes away.
    func respond(to request: ResponderRequest) async -> ResponderResponse
}

/// Builds a connection manager's responder from its filter configuration on each apply.
public protocol LocalResponderFactory: Sendable {
    /// nil when the connection manager has no filter this factory serves.
    func responder(for manager: HTTPConnectionManager, clusters: [String: Cluster], stats: StatsStore) throws
        -> (any LocalResponder)?
    /// Called once the server stopped serving: finish background work (a cache makes its files durable).
    func shutdown() async
}

extension LocalResponderFactory {
    public func shutdown() async {}
}

/// A routed request as a responder sees it: the request line and headers, who sent it, and what routing chose.
public struct ResponderRequest: Sendable {
    public var method: HTTPMethod
    public var uri: String
    public var host: String
    public var headers: HTTPHeaders
    public var remoteAddress: String?
    /// The matched virtual host's domains (`*` for a catch-all).
    public var virtualHostDomains: [String]
    /// The cluster the matched route names (the first of weighted clusters), if any.
    public var clusterName: String?
    /// Whether the connection can send file ranges with sendfile (plain HTTP/1, not an HTTP/2 stream).
    public var supportsFileRegions = false

    public init(method: HTTPMethod, uri: String, host: String, headers: HTTPHeaders, remoteAddress: String?,
                virtualHostDomains: [String], clusterName: String?) {
        self.method = method
        self.uri = uri
        self.host = host
        self.headers = headers
        self.remoteAddress = remoteAddress
        self.virtualHostDomains = virtualHostDomains
        self.clusterName = clusterName
    }
}

/// A responder's answer. A streamed body must produce exactly the `content-length` it declares; if it throws
/// midway, the connection is cut so the client sees a truncated response rather than a complete wrong one.
public struct ResponderResponse: Sendable {
    public enum Body: Sendable {
        case empty
        case bytes(ByteBuffer)
        case stream(AsyncThrowingStream<ByteBuffer, any Error>)
        /// A range of a complete file (a cache hit): sent with sendfile where the connection allows it (plain
        /// HTTP/1), else read through `fallback`. `onEnd` runs once the bytes are out or the send failed.
        case file(FileBody)
        /// Bytes and file ranges in order (a blob still arriving, read with sendfile as it grows); only for
        /// requests whose `supportsFileRegions` is true.
        case segments(AsyncThrowingStream<BodySegment, any Error>)
    }

    public enum BodySegment: Sendable {
        case bytes(ByteBuffer)
        case file(OwnedDescriptor, offset: Int, length: Int)
    }

    public struct FileBody: Sendable {
        public var path: String
        public var offset: Int
        public var length: Int
        public var fallback: AsyncThrowingStream<ByteBuffer, any Error>
        public var onEnd: @Sendable (_ sent: Int) -> Void

        public init(path: String, offset: Int, length: Int, fallback: AsyncThrowingStream<ByteBuffer, any Error>,
                    onEnd: @escaping @Sendable (_ sent: Int) -> Void) {
            self.path = path
            self.offset = offset
            self.length = length
            self.fallback = fallback
            self.onEnd = onEnd
        }
    }

    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body
    /// The access log's response flags (e.g. a cache hit), empty for none.
    public var flag: String

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: Body = .empty, flag: String = "") {
        self.status = status
        self.headers = headers
        self.body = body
        self.flag = flag
    }
}

/// A file descriptor handed from a responder to the data plane: whoever takes it closes it; one never taken is
/// closed when this goes away, so a body dropped midway leaks nothing.
public final class OwnedDescriptor: Sendable {
    private let descriptor: Mutex<Int32?>

    public init(_ descriptor: Int32) { self.descriptor = Mutex(descriptor) }

    public func take() -> Int32? { self.descriptor.withLock { value in defer { value = nil }; return value } }

    deinit {
        if let descriptor = self.descriptor.withLock({ $0 }) { close(descriptor) }
    }
}
