import NIOCore
import NIOHTTP1
import NIOHTTP2

/// `codec_type: AUTO` on a plaintext listener: HTTP/2 when the connection opens with the HTTP/2 client preface
/// (h2c with prior knowledge), HTTP/1.1 otherwise. Envoy infers the protocol the same way.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var buffered: ByteBuffer?
    private let configureHTTP1: (any Channel) throws -> Void
    private let configureHTTP2: (any Channel) throws -> Void

    init(http1: @escaping (any Channel) throws -> Void, http2: @escaping (any Channel) throws -> Void) {
        self.configureHTTP1 = http1
        self.configureHTTP2 = http2
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = self.unwrapInboundIn(data)
        if var buffered = self.buffered {
            buffered.writeBuffer(&incoming)
            self.buffered = buffered
        } else {
            self.buffered = incoming
        }
        guard let bytes = self.buffered else { return }
        let prefix = bytes.readableBytesView.prefix(Self.preface.count)
        let matchesSoFar = prefix.elementsEqual(Self.preface.prefix(prefix.count))
        guard !matchesSoFar || prefix.count == Self.preface.count else { return }   // wait for more bytes
        do {
            if matchesSoFar { try self.configureHTTP2(context.channel) } else { try self.configureHTTP1(context.channel) }
        } catch {
            context.close(promise: nil)
            return
        }
        self.buffered = nil
        context.fireChannelRead(self.wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.buffered != nil { context.read() } else { context.fireChannelReadComplete() }
    }
}

extension ProtocolSniffer {
    typealias InboundOut = ByteBuffer
}

@available(*, unavailable)
extension ProtocolSniffer: Sendable {}
