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

    /// Several fields in one write: a `ByteBuffer` write checks uniqueness and exclusivity each time, and a
    /// proxied head appends half a dozen fields of four pieces each.
    static func writeFields(_ fields: [(name: String, value: String)], to buffer: inout ByteBuffer) {
        guard !fields.isEmpty else { return }
        let size = fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            var offset = 0
            for field in fields {
                offset = Self.copy(field.name, into: out, at: offset)
                out[offset] = UInt8(ascii: ":")
                out[offset + 1] = UInt8(ascii: " ")
                offset = Self.copy(field.value, into: out, at: offset + 2)
                out[offset] = 0x0D
                out[offset + 1] = 0x0A
                offset += 2
            }
            return offset
        }
    }

    /// Copies `text`'s UTF-8 into `out` at `offset`; returns where it ended.
    private static func copy(_ text: String, into out: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let copied = text.utf8.withContiguousStorageIfAvailable { source -> Int in
            if let base = source.baseAddress { (out.baseAddress! + offset).copyMemory(from: base, byteCount: source.count) }
            return offset + source.count
        }
        if let copied { return copied }
        var end = offset
        for byte in text.utf8 {
            out[end] = byte
            end += 1
        }
        return end
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

    /// The end of a body: the last chunk and trailers when chunked, else nothing but the promise. Returns whether
    /// anything went to the channel (a body framed by its length ends with no write, and then needs no flush).
    @discardableResult
    static func writeEnd(_ trailers: HTTPHeaders?, chunked: Bool, context: ChannelHandlerContext,
                         promise: EventLoopPromise<Void>?) -> Bool {
        guard chunked else {
            guard let promise else { return false }
            context.write(NIOAny(IOData.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise)
            return true
        }
        var buffer = context.channel.allocator.buffer(capacity: 5)
        buffer.writeStaticString("0\r\n")
        for header in trailers ?? [:] { Self.writeField(header.name, header.value, to: &buffer) }
        buffer.writeStaticString("\r\n")
        context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
        return true
    }

    private static func crlf(_ context: ChannelHandlerContext) -> ByteBuffer {
        var buffer = context.channel.allocator.buffer(capacity: 2)
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
