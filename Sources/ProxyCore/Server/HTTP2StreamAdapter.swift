import NIOCore
import NIOHTTP1

/// Lets an HTTP/2 stream, as NIO's HTTP/2-to-HTTP/1 message codec presents it, be served by the same
/// `DownstreamHandler` as HTTP/1 connections: request heads become `HTTP1Head`s (so routing, header rules and
/// access logs have one implementation), and response heads written as bytes become `HTTPResponseHead`s again.
final class HTTP2StreamAdapter: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTP1InboundPart
    typealias OutboundIn = DownstreamResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A head waits for the next part: only then is it known whether a body follows (and must be framed).
    private var heldHead: HTTPRequestHead?
    private var answeringHEAD = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.heldHead = head
            self.answeringHEAD = head.method == .HEAD
        case .body(let buffer):
            if let head = self.heldHead.take() { guard self.deliver(head, bodyFollows: true, context: context) else { return } }
            context.fireChannelRead(self.wrapInboundOut(.body(buffer)))
        case .end(let trailers):
            if let head = self.heldHead.take() { guard self.deliver(head, bodyFollows: false, context: context) else { return } }
            context.fireChannelRead(self.wrapInboundOut(.end(trailers)))
        }
    }

    /// The head as HTTP/1.1 bytes, checked by the same parser as HTTP/1 requests; a body without a length is
    /// marked chunked, so it is framed that way upstream.
    private func deliver(_ head: HTTPRequestHead, bodyFollows: Bool, context: ChannelHandlerContext) -> Bool {
        var buffer = context.channel.allocator.buffer(capacity: 512)
        buffer.writeString("\(head.method.rawValue) \(head.uri) HTTP/1.1\r\n")
        for header in head.headers { HTTP1Writer.writeField(header.name, header.value, to: &buffer) }
        if bodyFollows, !head.headers.contains(name: "content-length"), !head.headers.contains(name: "transfer-encoding") {
            HTTP1Writer.writeField("transfer-encoding", "chunked", to: &buffer)
        }
        buffer.writeStaticString("\r\n")
        do {
            guard let parsed = try HTTP1HeadParser.parse(buffer, maxBytes: .max, maxFields: .max) else {
                throw HTTP1HeadError.malformedStartLine
            }
            context.fireChannelRead(self.wrapInboundOut(.head(parsed)))
            return true
        } catch {
            context.fireErrorCaught(error)
            return false
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head(let head):
            context.write(self.wrapOutboundOut(.head(head)), promise: promise)
        case .encodedHead(let encoded):
            guard let parsed = try? HTTP1HeadParser.parse(encoded.bytes, responseTo: self.answeringHEAD ? .HEAD : .GET,
                                                          maxBytes: .max, maxFields: .max) else {
                promise?.fail(HTTP1HeadError.malformedStartLine)
                context.close(promise: nil)
                return
            }
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: parsed.status),
                                        headers: parsed.headers)
            context.write(self.wrapOutboundOut(.head(head)), promise: promise)
        case .body(let data):
            context.write(self.wrapOutboundOut(.body(data)), promise: promise)
        case .end(let trailers):
            context.write(self.wrapOutboundOut(.end(trailers)), promise: promise)
        }
    }
}

@available(*, unavailable)
extension HTTP2StreamAdapter: Sendable {}
