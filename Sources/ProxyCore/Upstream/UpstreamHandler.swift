import NIOCore
import NIOHTTP1

/// The downstream half of an exchange, as the upstream connection sees it. Always called on the shared event loop.
protocol UpstreamResponseReceiver: AnyObject {
    func upstreamResponseHead(_ head: HTTP1Head)
    func upstreamResponseBody(_ buffer: ByteBuffer)
    func upstreamResponseEnd(_ trailers: HTTPHeaders?)
    /// A batch of reads ended: flush what was written downstream.
    func upstreamReadComplete()
    /// The connection closed or failed before the response ended.
    func upstreamFailed(_ error: any Error)
    /// The upstream socket can take more request body (or cannot): resume or pause reading downstream.
    func upstreamWritabilityChanged(isWritable: Bool)
    /// Whether the downstream socket can take more response body; upstream reads wait while it cannot.
    var downstreamIsWritable: Bool { get }
}

/// The HTTP/1 client side of an upstream connection, in one handler: it writes requests as the bytes the
/// exchange built, reads responses with `HTTP1MessageReader` and hands each part straight to the current
/// exchange, and reads from the upstream socket only while the downstream socket can take what it reads.
///
/// Bytes that arrive when no request is waiting for them, or that are not a response, end the connection:
/// after either, nothing read from it can be trusted to belong to a request.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = UpstreamRequestPart
    typealias OutboundOut = IOData

    weak var receiver: (any UpstreamResponseReceiver)?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// False once the upstream said `Connection: close`, or a response ended abnormally.
    private(set) var reusable = true
    private(set) var responseInProgress = false
    var onClose: (() -> Void)?

    private var reader = HTTP1MessageReader(readsResponses: true)
    private var failed = false
    /// The channel closed (possibly while a part was being handled): asking the channel costs more than this flag.
    private var inactive = false
    private var chunkedRequest = false
    /// Bytes were written since the last flush: a flush with nothing to send still walks the pipeline, and a
    /// request would otherwise flush three times for one write.
    private var unflushed = false
    /// Requests written whose final response has not ended yet.
    private var outstanding = 0

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: Requests

    /// Writes a request part from this handler's place in the pipeline (the exchange holds the handler, so the
    /// part need not travel the pipeline from its tail).
    func send(_ part: UpstreamRequestPart) {
        guard let context = self.context else { return }
        self.write(part, context: context, promise: nil)
    }

    func flush() {
        guard self.unflushed, let context = self.context else { return }
        self.unflushed = false
        context.flush()
    }

    func flush(context: ChannelHandlerContext) {
        guard self.unflushed else { return }
        self.unflushed = false
        context.flush()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.write(self.unwrapOutboundIn(data), context: context, promise: promise)
    }

    private func write(_ part: UpstreamRequestPart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        // Heads and bodies always reach the channel; an end only sometimes (see `HTTP1Writer.writeEnd`).
        if !part.isEnd { self.unflushed = true }
        switch part {
        case .head(let encoded):
            self.chunkedRequest = encoded.chunked
            self.reader.answeringHEAD = encoded.isHEAD
            self.outstanding += 1
            context.write(self.wrapOutboundOut(.byteBuffer(encoded.bytes)), promise: promise)
        case .body(let data):
            HTTP1Writer.writeBody(data, chunked: self.chunkedRequest, context: context, promise: promise)
        case .end(let trailers):
            if HTTP1Writer.writeEnd(trailers, chunked: self.chunkedRequest, context: context, promise: promise) {
                self.unflushed = true
            }
            self.chunkedRequest = false
        }
    }

    // MARK: Responses

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        var input = self.reader.input(self.unwrapInboundIn(data))
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
            self.deliver(part)
            guard !self.failed, !self.inactive else { return }
        }
        self.reader.keep(input)
    }

    private func deliver(_ part: HTTP1InboundPart) {
        switch part {
        case .head(let head):
            self.responseInProgress = head.status >= 200 || head.status == 101
            if !head.isKeepAlive || head.framing == .untilClose { self.reusable = false }
            // 1xx interim responses (100 Continue) are not forwarded: the final response follows.
            guard head.status >= 200 else { return }
            self.receiver?.upstreamResponseHead(head)
        case .body(let buffer):
            self.receiver?.upstreamResponseBody(buffer)
        case .end(let trailers):
            self.outstanding -= 1
            guard self.responseInProgress else { return }
            self.responseInProgress = false
            let receiver = self.receiver
            self.receiver = nil
            receiver?.upstreamResponseEnd(trailers)
        }
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        self.failed = true
        self.reusable = false
        if let receiver = self.receiver {
            self.receiver = nil
            receiver.upstreamFailed(error)
        }
        context.close(promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.receiver?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if let receiver = self.receiver, !receiver.downstreamIsWritable {
            self.pendingRead = true
        } else {
            context.read()
        }
    }

    /// Called when the downstream socket drained: deliver the read we held back.
    func resumeReading() {
        guard self.pendingRead, let context = self.context else { return }
        self.pendingRead = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.receiver?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.inactive = true
        self.reusable = false
        // A body that runs until the close ends here, complete.
        if !self.failed, let end = self.reader.inputEnded() { self.deliver(end) }
        self.reader.dropKept()
        if let receiver = self.receiver {
            self.receiver = nil
            receiver.upstreamFailed(UpstreamError.resetBeforeResponse)
        }
        self.onClose?()
        self.onClose = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(error, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            self.reusable = false
            if !self.failed, let end = self.reader.inputEnded() { self.deliver(end) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Marks the connection as not to be reused (an aborted exchange leaves it in an unknown state).
    func invalidate() { self.reusable = false }
}

@available(*, unavailable)
extension UpstreamHandler: Sendable {}
