import NIOCore
import NIOHTTP1

/// The HTTP/1 codec of an upstream connection, in one handler: requests written as the bytes the exchange built,
/// responses read into `HTTP1InboundPart`s with their heads indexed as bytes.
///
/// Bytes that arrive when no request is waiting for them, or that are not a response, end the connection:
/// after either, nothing read from it can be trusted to belong to a request.
final class HTTP1ClientCodec: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = HTTP1InboundPart
    typealias OutboundIn = UpstreamRequestPart
    typealias OutboundOut = IOData

    private var reader = HTTP1MessageReader(readsResponses: true)
    private var pending: ByteBuffer?
    private var failed = false
    private var chunkedRequest = false
    /// Requests written whose final response has not ended yet.
    private var outstanding = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        var input = self.unwrapInboundIn(data)
        if var pending = self.pending.take() {
            pending.writeBuffer(&input)
            input = pending
        }
        while input.readableBytes > 0 || self.reader.isMidMessage {
            guard self.outstanding > 0 || self.reader.isMidMessage else {
                self.fail(HTTP1HeadError.malformedStartLine, context: context)   // bytes nobody asked for
                return
            }
            let part: HTTP1InboundPart?
            do {
                part = try self.reader.next(&input)
            } catch {
                self.fail(error, context: context)
                return
            }
            guard let part else { break }
            if case .end = part { self.outstanding -= 1 }
            context.fireChannelRead(self.wrapInboundOut(part))
            guard !self.failed, context.channel.isActive else { return }
        }
        if input.readableBytes > 0 { self.pending = input }
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        self.failed = true
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body that runs until the close ends here, complete.
        if !self.failed, let end = self.reader.inputEnded() {
            self.outstanding -= 1
            context.fireChannelRead(self.wrapInboundOut(end))
        }
        self.pending = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event, !self.failed, let end = self.reader.inputEnded() {
            self.outstanding -= 1
            context.fireChannelRead(self.wrapInboundOut(end))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head(let encoded):
            self.chunkedRequest = encoded.chunked
            self.reader.answeringHEAD = encoded.isHEAD
            self.outstanding += 1
            context.write(self.wrapOutboundOut(.byteBuffer(encoded.bytes)), promise: promise)
        case .body(let data):
            HTTP1Writer.writeBody(data, chunked: self.chunkedRequest, context: context, promise: promise)
        case .end(let trailers):
            HTTP1Writer.writeEnd(trailers, chunked: self.chunkedRequest, context: context, promise: promise)
            self.chunkedRequest = false
        }
    }
}

@available(*, unavailable)
extension HTTP1ClientCodec: Sendable {}
