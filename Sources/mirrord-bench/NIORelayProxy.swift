import NIOCore
import NIOPosix

/// The least any proxy built on NIO channels can cost per request here: bytes relayed between a downstream
/// connection and its own upstream connection with no HTTP parsing at all. Below this no HTTP/1 codec of our
/// own could go; `scripts/bench.sh` (BENCH=floor) runs it beside the NIO-codec floor, direct and haproxy.
enum NIORelayProxy {
    static func run(listenPort: Int, upstreamPort: Int) async throws {
        try await runBenchProxy(name: "nio-relay", listenPort: listenPort, upstreamPort: upstreamPort) { channel in
            try channel.pipeline.syncOperations.addHandler(RelayDownstream(upstreamPort: upstreamPort))
        }
    }
}

/// Writes what the client sends to its own upstream connection.
private final class RelayDownstream: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let upstreamPort: Int
    private let upstream = BenchUpstreamLink<ByteBuffer>()

    init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    func channelActive(context: ChannelHandlerContext) {
        let downstream = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.upstream.connect(port: self.upstreamPort, from: context) { channel in
            try channel.pipeline.syncOperations.addHandler(RelayUpstream(downstream: downstream))
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.upstream.close()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { self.upstream.send(self.unwrapInboundIn(data)) }

    func channelReadComplete(context: ChannelHandlerContext) { self.upstream.flush() }
}

/// Writes the upstream's bytes straight to the downstream connection.
private final class RelayUpstream: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let downstream: NIOLoopBound<(RelayDownstream, ChannelHandlerContext)>

    init(downstream: NIOLoopBound<(RelayDownstream, ChannelHandlerContext)>) { self.downstream = downstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.downstream.value.1.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { self.downstream.value.1.flush() }

    func channelInactive(context: ChannelHandlerContext) {
        self.downstream.value.1.close(promise: nil)
        context.fireChannelInactive()
    }
}
