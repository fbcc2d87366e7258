import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An in-process HTTP/1.1 origin on 127.0.0.1 with an ephemeral port; tests script its answers.
final class TestOrigin: Sendable {
    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: [UInt8]
    }

    /// What the origin does with a request.
    enum Behaviour: Sendable {
        /// Status, headers, body.
        case respond(HTTPResponseStatus, [(String, String)], String)
        /// Echo the request line and headers back as the body, one `name: value` per line.
        case echo
        /// Send `length` bytes of 'x' with a content-length, in 64 KiB writes that wait for the socket.
        case stream(length: Int)
        /// Promise `length` bytes, send `sent`, then close the connection (after `linger`, if given).
        case truncate(length: Int, sent: Int, linger: TimeAmount = .zero)
        /// Answer after a delay.
        case delay(TimeAmount, String)
        /// Close the connection without answering.
        case hangUp
    }

    let group: any EventLoopGroup
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    private let behaviour: @Sendable (HTTPRequestHead) -> Behaviour
    let requests = Mutex<[Request]>([])
    let connections = Atomic<Int>(0)
    /// Connections accepted and not yet closed: what a pool still holds to this origin.
    let openConnections = Atomic<Int>(0)

    let tls: NIOSSLContext?

    init(group: any EventLoopGroup, tls: NIOSSLContext? = nil, _ behaviour: @escaping @Sendable (HTTPRequestHead) -> Behaviour) {
        self.group = group
        self.tls = tls
        self.behaviour = behaviour
    }

    var port: Int { self.channel.withLock { $0?.localAddress?.port ?? 0 } }

    func start(host: String = "127.0.0.1", port: Int = 0) async throws {
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    self.connections.add(1, ordering: .relaxed)
                    self.openConnections.add(1, ordering: .relaxed)
                    channel.closeFuture.whenComplete { _ in self.openConnections.subtract(1, ordering: .relaxed) }
                    if let tls = self.tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(OriginHandler(origin: self))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        self.channel.withLock { $0 = channel }
    }

    func stop() async {
        try? await self.channel.withLock { $0 }?.close()
    }

    fileprivate func behaviour(for head: HTTPRequestHead) -> Behaviour { self.behaviour(head) }
    fileprivate func record(_ request: Request) { self.requests.withLock { $0.append(request) } }
}

private final class OriginHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let origin: TestOrigin
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(origin: TestOrigin) { self.origin = origin }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = []
        case .body(let buffer):
            self.body += buffer.readableBytesView
        case .end:
            guard let head = self.head else { return }
            self.origin.record(.init(head: head, body: self.body))
            self.respond(head, context: context)
        }
    }

    func respond(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        switch self.origin.behaviour(for: head) {
        case .respond(let status, let headers, let body):
            self.send(status, headers, body, context: context)
        case .echo:
            var text = "\(head.method.rawValue) \(head.uri)\n"
            for header in head.headers { text += "\(header.name): \(header.value)\n" }
            text += "body-bytes: \(self.body.count)\n"
            self.send(.ok, [], text, context: context)
        case .delay(let amount, let body):
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: amount) {
                let (handler, context) = loopBound.value
                handler.send(.ok, [], body, context: context)
            }
        case .stream(let length):
            var headers = HTTPHeaders([("content-length", String(length))])
            headers.add(name: "content-type", value: "application/octet-stream")
            context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                                  promise: nil)
            self.streamChunks(remaining: length, context: context)
        case .truncate(let length, let sent, let linger):
            let headers = HTTPHeaders([("content-length", String(length))])
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                          promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: sent)
            buffer.writeRepeatingByte(UInt8(ascii: "x"), count: sent)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(buffer)))).whenComplete { _ in
                let context = loopBound.value
                context.eventLoop.scheduleTask(in: linger) { loopBound.value.close(promise: nil) }
            }
        case .hangUp:
            context.close(promise: nil)
        }
    }

    func streamChunks(remaining: Int, context: ChannelHandlerContext) {
        guard remaining > 0 else {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let size = min(remaining, 64 * 1024)
        var buffer = context.channel.allocator.buffer(capacity: size)
        buffer.writeRepeatingByte(UInt8(ascii: "x"), count: size)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(buffer)))).whenSuccess {
            let (handler, context) = loopBound.value
            handler.streamChunks(remaining: remaining - size, context: context)
        }
    }

    func send(_ status: HTTPResponseStatus, _ extra: [(String, String)], _ body: String, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(extra)
        headers.replaceOrAdd(name: "content-length", value: String(body.utf8.count))
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                      promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
    }
}
