import NIOCore
import NIOHTTP1
import NIOPosix

/// The least an HTTP/1.1 proxy built on NIO's codecs can cost per request on this machine: one upstream
/// keep-alive connection per downstream connection, no routing, no header rewriting, no stats, no limits.
/// `scripts/bench.sh` runs it beside direct and haproxy so mirrord's small-request ratio can be read against
/// the floor of its own toolkit, not only against proxies written in C.
enum NIOFloorProxy {
    static func run(listenPort: Int, upstreamPort: Int) async throws {
        try await runBenchProxy(name: "nio-floor", listenPort: listenPort, upstreamPort: upstreamPort) { channel in
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false)
            try channel.pipeline.syncOperations.addHandler(FloorDownstream(upstreamPort: upstreamPort))
        }
    }
}

/// Forwards request parts to its own upstream connection.
private final class FloorDownstream: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let upstreamPort: Int
    private let upstream = BenchUpstreamLink<HTTPClientRequestPart>()

    init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    func channelActive(context: ChannelHandlerContext) {
        let downstream = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.upstream.connect(port: self.upstreamPort, from: context) { channel in
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.pipeline.syncOperations.addHandler(FloorUpstream(downstream: downstream))
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.upstream.close()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head): self.upstream.send(.head(head))
        case .body(let body): self.upstream.send(.body(.byteBuffer(body)))
        case .end(let trailers): self.upstream.send(.end(trailers))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { self.upstream.flush() }
}

/// Writes the upstream's response parts straight to the downstream connection, flushing at each response end.
private final class FloorUpstream: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let downstream: NIOLoopBound<(FloorDownstream, ChannelHandlerContext)>

    init(downstream: NIOLoopBound<(FloorDownstream, ChannelHandlerContext)>) { self.downstream = downstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let (_, downstream) = self.downstream.value
        switch self.unwrapInboundIn(data) {
        case .head(let head): downstream.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        case .body(let body): downstream.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        case .end(let trailers):
            downstream.write(NIOAny(HTTPServerResponsePart.end(trailers)), promise: nil)
            downstream.flush()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.downstream.value.1.close(promise: nil)
        context.fireChannelInactive()
    }
}
