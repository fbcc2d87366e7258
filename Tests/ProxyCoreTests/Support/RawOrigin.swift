import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// An origin that answers with exactly the bytes a test gives it, to put on the wire what a well-behaved HTTP
/// library would not write: close-delimited bodies, chunked bodies with trailers, interim responses, framing
/// that contradicts itself. It records each request's raw bytes (head and body as received).
final class RawOrigin: Sendable {
    /// The bytes to answer a request with (given its raw head), and whether to close the connection after them.
    typealias Reply = @Sendable (_ head: String) -> (bytes: String, close: Bool)

    private let group: any EventLoopGroup
    private let reply: Reply
    private let channel = Mutex<(any Channel)?>(nil)
    let requests = Mutex<[String]>([])

    init(group: any EventLoopGroup, reply: @escaping Reply) {
        self.group = group
        self.reply = reply
    }

    var port: Int { self.channel.withLock { $0?.localAddress?.port ?? 0 } }

    func start() async throws {
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawOriginHandler(origin: self))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        self.channel.withLock { $0 = channel }
    }

    func stop() async {
        try? await self.channel.withLock { $0 }?.close()
    }

    fileprivate func answer(_ request: String) -> (bytes: String, close: Bool) {
        self.requests.withLock { $0.append(request) }
        let head = String(request[..<(request.range(of: "\r\n\r\n")?.lowerBound ?? request.endIndex)])
        return self.reply(head)
    }
}

/// Reads whole requests (a `content-length` body, or a chunked one up to its last chunk) and writes the reply.
private final class RawOriginHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let origin: RawOrigin
    var received = ""

    init(origin: RawOrigin) { self.origin = origin }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.received += String(buffer: self.unwrapInboundIn(data))
        while let request = self.takeRequest() {
            let (bytes, close) = self.origin.answer(request)
            let written = context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: bytes)))
            if close {
                let channel = context.channel
                written.whenComplete { _ in channel.close(promise: nil) }
                return
            }
        }
    }

    private func takeRequest() -> String? {
        guard let headEnd = self.received.range(of: "\r\n\r\n") else { return nil }
        let head = self.received[..<headEnd.lowerBound].lowercased()
        var end = headEnd.upperBound
        if head.contains("transfer-encoding: chunked") {
            guard let last = self.received.range(of: "\r\n0\r\n", range: headEnd.lowerBound..<self.received.endIndex),
                  let close = self.received.range(of: "\r\n\r\n", range: last.lowerBound..<self.received.endIndex)
            else { return nil }
            end = close.upperBound
        } else if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                  let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
            guard self.received.utf8.count - self.received[..<end].utf8.count >= length else { return nil }
            end = self.received.utf8.index(end, offsetBy: length)
        }
        let request = String(self.received[..<end])
        self.received = String(self.received[end...])
        return request
    }
}
