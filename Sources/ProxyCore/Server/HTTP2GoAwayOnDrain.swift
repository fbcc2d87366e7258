import NIOCore
import NIOHTTP2

/// On a draining listener an HTTP/2 connection sends GOAWAY (no new streams; open ones finish), as Envoy does;
/// the client opens its next streams on a new connection. It closes when its last stream ends or at the drain time.
final class HTTP2GoAwayOnDrain: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private var sent = false

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent, !self.sent {
            self.sent = true
            let frame = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))
            context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension HTTP2GoAwayOnDrain: Sendable {}
