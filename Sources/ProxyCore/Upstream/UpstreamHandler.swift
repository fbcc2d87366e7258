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

/// Last handler of an upstream connection: hands response parts to the current exchange and reads
/// from the upstream socket only while the downstream socket can take what it reads.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP1InboundPart
    typealias OutboundIn = UpstreamRequestPart
    typealias OutboundOut = UpstreamRequestPart

    weak var receiver: (any UpstreamResponseReceiver)?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// False once the upstream said `Connection: close`, or a response ended abnormally.
    private(set) var reusable = true
    private(set) var responseInProgress = false
    var onClose: (() -> Void)?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.responseInProgress = head.status >= 200 || head.status == 101
            if !head.isKeepAlive || head.framing == .untilClose { self.reusable = false }
            // 1xx interim responses (100 Continue) are not forwarded: the final response follows.
            guard head.status >= 200 else { return }
            self.receiver?.upstreamResponseHead(head)
        case .body(let buffer):
            self.receiver?.upstreamResponseBody(buffer)
        case .end(let trailers):
            guard self.responseInProgress else { return }
            self.responseInProgress = false
            let receiver = self.receiver
            self.receiver = nil
            receiver?.upstreamResponseEnd(trailers)
        }
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
        self.reusable = false
        if let receiver = self.receiver {
            self.receiver = nil
            receiver.upstreamFailed(UpstreamError.resetBeforeResponse)
        }
        self.onClose?()
        self.onClose = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.reusable = false
        if let receiver = self.receiver {
            self.receiver = nil
            receiver.upstreamFailed(error)
        }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { self.reusable = false }
        context.fireUserInboundEventTriggered(event)
    }

    /// Marks the connection as not to be reused (an aborted exchange leaves it in an unknown state).
    func invalidate() { self.reusable = false }
}

@available(*, unavailable)
extension UpstreamHandler: Sendable {}
