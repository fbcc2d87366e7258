import NIOCore
import NIOHTTP1

/// The HTTP/1 codec of a downstream connection, in one handler: request bytes in, `HTTP1InboundPart`s out
/// (heads indexed, never turned into Swift strings here), and responses written as bytes.
///
/// It replaces NIO's request decoder and response encoder on the proxy path: those build every header name and
/// value as a `String` and cost ~16 µs of a ~40 µs proxied request (measured with `mirrord-bench`).
final class HTTP1ServerCodec: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = HTTP1InboundPart
    typealias OutboundIn = DownstreamResponsePart
    typealias OutboundOut = IOData

    /// The handler above, which parts are handed to by a direct call (and which writes through `encode` the same
    /// way): two pipeline hops per part saved, with their type casts. Nil leaves parts to the pipeline.
    weak var handler: DownstreamHandler?
    private var context: ChannelHandlerContext?
    /// The header limits (bytes of a head, fields). The handler sets them from the configuration it routes each
    /// request with, so a reload applies to the connection's next request without the codec reading the shared
    /// configuration (a lock and a reference count touched by every thread) on every read.
    var limits: (bytes: Int, fields: Int)
    private var reader = HTTP1MessageReader(readsResponses: false)
    /// Bytes that were not a request: the connection reads nothing more.
    private var failed = false
    /// The channel closed (possibly while a part was being handled): asking the channel costs more than this flag.
    private var inactive = false
    private var chunkedResponse = false
    /// Bytes were written since the last flush: a flush with nothing to send still walks the pipeline, and a
    /// request would otherwise flush three times for one write.
    private var unflushed = false

    init(limits: (bytes: Int, fields: Int)) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        var input = self.reader.input(self.unwrapInboundIn(data))
        let limits = self.limits
        let handler = self.handler
        while true {
            let part: HTTP1InboundPart?
            do {
                part = try self.reader.next(&input, maxHeadBytes: limits.bytes, maxFields: limits.fields)
            } catch {
                self.failed = true
                context.fireErrorCaught(error)
                return
            }
            guard let part else { break }
            if let handler { handler.receive(part) } else { context.fireChannelRead(self.wrapInboundOut(part)) }
            guard !self.failed, !self.inactive else { return }
        }
        self.reader.keep(input)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.inactive = true
        self.reader.dropKept()
        self.heldHead = nil
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.write(self.unwrapOutboundIn(data), context: context, promise: promise)
    }

    /// Writes a part of a response from this handler's place in the pipeline.
    func encode(_ part: DownstreamResponsePart, promise: EventLoopPromise<Void>?) {
        guard let context = self.context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        self.write(part, context: context, promise: promise)
    }

    func flush() {
        guard self.unflushed, let context = self.context else { return }
        self.flush(context: context)
    }

    func flush(context: ChannelHandlerContext) {
        guard self.unflushed else { return }
        self.unflushed = false
        self.writeHeldHead(context: context)
        context.flush()
    }

    /// A response head is held back until its first body part, its end or a flush, so a small response leaves
    /// as one buffer: one write through the channel instead of two (each write costs the channel's bookkeeping
    /// and a vector entry in `writev`).
    private var heldHead: ByteBuffer?
    static let joinedBodyLimit = 16 * 1024

    private func writeHeldHead(context: ChannelHandlerContext) {
        guard let head = self.heldHead.take() else { return }
        context.write(self.wrapOutboundOut(.byteBuffer(head)), promise: nil)
    }

    private func write(_ part: DownstreamResponsePart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        // Heads and bodies always reach the channel; an end only sometimes (see `HTTP1Writer.writeEnd`).
        if !part.isEnd { self.unflushed = true }
        switch part {
        case .head(let head):
            let encoded = HTTP1Writer.encode(head, allocator: context.channel.allocator)
            self.hold(encoded, context: context, promise: promise)
        case .encodedHead(let encoded):
            self.hold(encoded, context: context, promise: promise)
        case .body(let data):
            if var head = self.heldHead.take() {
                if !self.chunkedResponse, case .byteBuffer(var body) = data, body.readableBytes <= Self.joinedBodyLimit {
                    head.writeBuffer(&body)
                    context.write(self.wrapOutboundOut(.byteBuffer(head)), promise: promise)
                    return
                }
                context.write(self.wrapOutboundOut(.byteBuffer(head)), promise: nil)
            }
            HTTP1Writer.writeBody(data, chunked: self.chunkedResponse, context: context, promise: promise)
        case .end(let trailers):
            self.writeHeldHead(context: context)
            if HTTP1Writer.writeEnd(trailers, chunked: self.chunkedResponse, context: context, promise: promise) {
                self.unflushed = true
            }
            self.chunkedResponse = false
        }
    }

    private func hold(_ encoded: EncodedHead, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        self.writeHeldHead(context: context)
        self.chunkedResponse = encoded.chunked
        if let promise {
            context.write(self.wrapOutboundOut(.byteBuffer(encoded.bytes)), promise: promise)
        } else {
            self.heldHead = encoded.bytes
        }
    }
}

@available(*, unavailable)
extension HTTP1ServerCodec: Sendable {}
