import NIOCore
import NIOHTTP1

/// Writes HTTP/1 message parts as bytes: heads of mirrord's own answers, and bodies as they are framed (chunks,
/// or as they are). Both byte-level codecs write through it.
enum HTTP1Writer {
    /// A response head of mirrord's own (local replies, the registry responder), framed as NIO frames it: the
    /// body is chunked when the head gives neither a length nor a transfer coding and the status allows a body.
    static func encode(_ head: HTTPResponseHead, allocator: ByteBufferAllocator) -> EncodedHead {
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeString("HTTP/1.\(head.version.minor == 0 ? 0 : 1) \(head.status.code) \(head.status.reasonPhrase)\r\n")
        var chunked = false
        var hasLength = false
        var codings: String?
        for header in head.headers {
            if HeaderRules.equalsIgnoringCase(header.name, "content-length") { hasLength = true }
            if HeaderRules.equalsIgnoringCase(header.name, "transfer-encoding") { codings = header.value.lowercased() }
            Self.writeField(header.name, header.value, to: &buffer)
        }
        let code = head.status.code
        if code >= 200, code != 204, code != 304 {
            if let codings {
                chunked = codings.split(separator: ",").last.map(HTTP1HeadParser.trimmingSpaces) == "chunked"
            } else if !hasLength, head.version.minor >= 1 {
                Self.writeField("transfer-encoding", "chunked", to: &buffer)
                chunked = true
            }
        }
        buffer.writeStaticString("\r\n")
        return EncodedHead(bytes: buffer, chunked: chunked)
    }

    static func writeField(_ name: String, _ value: String, to buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    /// One body part, as a chunk when the message is chunked (an empty part is written as no bytes at all: a
    /// zero-size chunk would end the body; its promise still completes in order with the writes before it).
    static func writeBody(_ data: IOData, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard chunked, data.readableBytes > 0 else {
            context.write(NIOAny(data), promise: promise)
            return
        }
        var prefix = context.channel.allocator.buffer(capacity: 18)
        prefix.writeString(String(data.readableBytes, radix: 16))
        prefix.writeStaticString("\r\n")
        if case .byteBuffer(let body) = data {
            // One buffer for small chunks: three writes cost more than the copy.
            if body.readableBytes <= 4096 {
                var body = body
                prefix.writeBuffer(&body)
                prefix.writeStaticString("\r\n")
                context.write(NIOAny(IOData.byteBuffer(prefix)), promise: promise)
                return
            }
        }
        context.write(NIOAny(IOData.byteBuffer(prefix)), promise: nil)
        context.write(NIOAny(data), promise: nil)
        context.write(NIOAny(IOData.byteBuffer(Self.crlf(context))), promise: promise)
    }

    /// The end of a body: the last chunk and trailers when chunked, else nothing but the promise.
    static func writeEnd(_ trailers: HTTPHeaders?, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard chunked else {
            if let promise { context.write(NIOAny(IOData.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise) }
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 5)
        buffer.writeStaticString("0\r\n")
        for header in trailers ?? [:] { Self.writeField(header.name, header.value, to: &buffer) }
        buffer.writeStaticString("\r\n")
        context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
    }

    private static func crlf(_ context: ChannelHandlerContext) -> ByteBuffer {
        var buffer = context.channel.allocator.buffer(capacity: 2)
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
