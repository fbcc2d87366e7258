import NIOCore
import NIOEmbedded
import NIOHTTP2
import Testing
@testable import ProxyCore

/// A draining listener's HTTP/2 connections announce it with GOAWAY, once.
@Suite struct HTTP2GoAwayTests {
    @Test func drainSendsOneGoAway() throws {
        let channel = EmbeddedChannel(handler: HTTP2GoAwayOnDrain())
        channel.pipeline.fireUserInboundEventTriggered(DrainEvent(closeIdle: false))
        channel.pipeline.fireUserInboundEventTriggered(DrainEvent(closeIdle: true))
        let frame = try #require(try channel.readOutbound(as: HTTP2Frame.self))
        guard case .goAway(let lastStream, let code, _) = frame.payload else {
            Issue.record("expected GOAWAY, got \(frame.payload)")
            return
        }
        #expect(frame.streamID == .rootStream)
        #expect(lastStream == .maxID)
        #expect(code == .noError)
        #expect(try channel.readOutbound(as: HTTP2Frame.self) == nil)
        _ = try channel.finish()
    }
}
