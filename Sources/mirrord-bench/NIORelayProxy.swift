import NIOCore
import NIOPosix

/// The least any proxy built on NIO channels can cost per request here: bytes relayed between a downstream
/// connection and its own upstream connection with no HTTP parsing at all. Below this no HTTP/1 codec of our
/// own could go; `scripts/bench.sh` (BENCH=floor) runs it beside the NIO-codec floor, direct and haproxy.
enum NIORelayProxy {
    static func run(listenPort: Int, upstreamPort: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RelayDownstream(upstreamPort: upstreamPort))
                }
            }
            .bind(host: "127.0.0.1", port: listenPort).get()
        print("nio-relay listening on 127.0.0.1:\(listenPort), upstream 127.0.0.1:\(upstreamPort)")
        try await server.closeFuture.get()
    }
}

/// Writes what the client sends to its upstream connection, queueing it until that connection is up.
private final class RelayDownstream: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let upstreamPort: Int
    private var upstream: (any Channel)?
    private var queued: [ByteBuffer] = []

    init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    func channelActive(context: ChannelHandlerContext) {
        let downstream = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RelayUpstream(downstream: downstream))
                }
            }
            .connect(host: "127.0.0.1", port: self.upstreamPort)
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let (handler, context) = downstream.value
                switch result {
                case .success(let channel):
                    handler.upstream = channel
                    for buffer in handler.queued { channel.write(buffer, promise: nil) }
                    handler.queued = []
                    channel.flush()
                case .failure:
                    context.close(promise: nil)
                }
            }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.upstream?.close(promise: nil)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        if let upstream { upstream.write(buffer, promise: nil) } else { self.queued.append(buffer) }
    }

    func channelReadComplete(context: ChannelHandlerContext) { self.upstream?.flush() }
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
