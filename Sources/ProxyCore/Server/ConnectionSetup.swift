import NIOCore
import NIOHTTP1
import NIOHTTP2
import Synchronization

/// How an accepted connection's pipeline is built for each protocol.
extension ProxyServer {
    static func configureHTTP1(_ channel: any Channel, chain: ChainRuntime) throws {
        // One handler reads requests and writes responses as bytes (`HTTP1ServerCodec`), in place of NIO's decoder
        // and encoder; malformed requests are answered by `DownstreamHandler.errorCaught` (400 or 431, flag DPE).
        let state = chain.current
        let codec = HTTP1ServerCodec(limits: (state.maxRequestHeadBytes, state.maxHeadersCount))
        let handler = DownstreamHandler(chain: chain)
        codec.handler = handler
        handler.codec = codec
        try channel.pipeline.syncOperations.addHandler(codec)
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// HTTP/2: each stream gets its own `DownstreamHandler` behind NIO's HTTP/2 ↔ HTTP/1 message codec,
    /// and the connection answers a drain with GOAWAY.
    static func configureHTTP2(_ channel: any Channel, chain: ChainRuntime) throws {
        defer { try? channel.pipeline.syncOperations.addHandler(HTTP2GoAwayOnDrain()) }
        let stats = chain.current.stats
        stats.downstreamConnectionsTotal.increment()
        stats.downstreamConnectionsActive.increment()
        stats.http2Connections.increment()
        channel.closeFuture.whenComplete { _ in stats.downstreamConnectionsActive.decrement() }
        _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try stream.pipeline.syncOperations.addHandler(HTTP2StreamAdapter())
                try stream.pipeline.syncOperations.addHandler(DownstreamHandler(chain: chain, http2: true))
            }
        }
    }
}

/// The open downstream connections of one listener, so a drain can close idle ones and, at its end, the rest.
final class ConnectionTracker: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        self.channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { _ in self.channels.withLock { _ = $0.removeValue(forKey: key) } }
    }

    var isEmpty: Bool { self.channels.withLock { $0.isEmpty } }

    /// Tells each connection it is draining: HTTP/2 connections send GOAWAY, and with `closeIdle` idle
    /// HTTP/1 connections close now (busy ones after their response, which carries `Connection: close`).
    func notifyDrain(closeIdle: Bool) {
        for channel in self.channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent(closeIdle: closeIdle))
        }
    }

    func closeAll() {
        for channel in self.channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

extension NIOCore.SocketAddress {
    /// `127.0.0.1:5000` or `[::1]:5000`, as people write addresses.
    public var hostPort: String {
        guard let ip = self.ipAddress, let port = self.port else { return "\(self)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// Sent to every connection of a draining listener: close now if idle, else after the current response.
struct DrainEvent: Sendable {
    /// Close idle HTTP/1 connections now (shutdown); a reload's drain leaves them to their next response.
    var closeIdle: Bool
}
