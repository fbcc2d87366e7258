import NIOCore
import NIOPosix

/// Serves a bench proxy on 127.0.0.1:`listenPort` until it stops: `handlers` sets up each accepted connection.
func runBenchProxy(name: String, listenPort: Int, upstreamPort: Int,
                   handlers: @escaping @Sendable (any Channel) throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    let server = try await ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .serverChannelOption(.backlog, value: 1024)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try handlers(channel) } }
        .bind(host: "127.0.0.1", port: listenPort).get()
    print("\(name) listening on 127.0.0.1:\(listenPort), upstream 127.0.0.1:\(upstreamPort)")
    try await server.closeFuture.get()
}

/// The one upstream connection a bench proxy opens for each downstream connection, on the same event loop.
/// What the client sends before it is up waits here; the downstream closes if it cannot be opened.
final class BenchUpstreamLink<Part: Sendable> {
    private(set) var channel: (any Channel)?
    private var queued: [Part] = []

    /// Connects to 127.0.0.1:`port`; `handlers` sets up the new channel's pipeline.
    func connect(port: Int, from context: ChannelHandlerContext,
                 handlers: @escaping @Sendable (any Channel) throws -> Void) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try handlers(channel) } }
            .connect(host: "127.0.0.1", port: port)
            .hop(to: context.eventLoop)
            .whenComplete { result in
                let (link, context) = bound.value
                switch result {
                case .success(let channel):
                    link.channel = channel
                    for part in link.queued { channel.write(part, promise: nil) }
                    link.queued = []
                    channel.flush()
                case .failure:
                    context.close(promise: nil)
                }
            }
    }

    func send(_ part: Part) {
        if let channel { channel.write(part, promise: nil) } else { self.queued.append(part) }
    }

    func flush() { self.channel?.flush() }

    func close() { self.channel?.close(promise: nil) }
}
