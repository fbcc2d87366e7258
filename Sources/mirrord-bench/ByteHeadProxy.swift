import NIOCore
import NIOPosix

/// What an HTTP/1 proxy that keeps message heads as bytes could cost on NIO: heads are found and rewritten in
/// place (hop-by-hop `connection` dropped, `host`, `x-forwarded-proto` and `x-request-id` set on requests,
/// `server` on responses), bodies framed by `Content-Length` are passed through as they arrive, and no header
/// becomes a Swift string. Only what the benchmark sends is handled (no chunked bodies, no pipelining, no
/// errors beyond closing): it measures a design, it is not a proxy, and is the floor the byte-level data plane
/// (`HTTP1ServerCodec`, `HeadEditor`, `UpstreamHandler`) is read against. `BENCH=floor scripts/bench.sh` runs it.
enum ByteHeadProxy {
    static func run(listenPort: Int, upstreamPort: Int) async throws {
        try await runBenchProxy(name: "byte-head", listenPort: listenPort, upstreamPort: upstreamPort) { channel in
            try channel.pipeline.syncOperations.addHandler(ByteHeadDownstream(upstreamPort: upstreamPort))
        }
    }

    /// Where the head in `buffer` ends (the index after its empty line), if all of it is there.
    static func headEnd(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= 4 else { return nil }
            for index in 3..<bytes.count where bytes[index] == 0x0A && bytes[index - 1] == 0x0D
                && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
                return index + 1
            }
            return nil
        }
    }

    /// Copies the head's lines into `out`, leaving out those whose name is in `drop` (lower-case), and returns the
    /// `Content-Length` it saw (0 if none).
    static func copyHead(_ head: UnsafeRawBufferPointer, dropping drop: [[UInt8]], into out: inout ByteBuffer) -> Int {
        var length = 0
        var lineStart = 0
        var first = true
        for index in 1..<head.count where head[index] == 0x0A && head[index - 1] == 0x0D {
            let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<(index + 1)])
            lineStart = index + 1
            if line.count == 2 { break }   // the empty line
            if first {
                first = false
                out.writeBytes(line)
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = line[..<colon]
            if drop.contains(where: { Self.equalsLowercased(name, $0) }) { continue }
            if Self.equalsLowercased(name, Self.contentLength) {
                length = line[(colon + 1)...].reduce(0) { (0x30...0x39).contains($1) ? $0 * 10 + Int($1 - 0x30) : $0 }
            }
            out.writeBytes(line)
        }
        return length
    }

    static let contentLength = Array("content-length".utf8)
    static let requestDrops = [Array("connection".utf8), Array("keep-alive".utf8), Array("host".utf8),
                               Array("x-forwarded-proto".utf8), Array("proxy-connection".utf8)]
    static let responseDrops = [Array("connection".utf8), Array("keep-alive".utf8), Array("server".utf8)]

    static func equalsLowercased(_ name: Slice<UnsafeRawBufferPointer>, _ lower: [UInt8]) -> Bool {
        name.count == lower.count && zip(name, lower).allSatisfy { ($0 | 0x20) == $1 }
    }
}

/// One direction of a byte-head connection: finds each head in what arrives, hands the rewritten head to
/// `send`, and passes the `Content-Length` body that follows through untouched.
private struct HeadRewritingStream {
    private var pending: ByteBuffer?
    private var bodyLeft = 0
    let drops: [[UInt8]]

    init(dropping drops: [[UInt8]]) { self.drops = drops }

    /// `finish` appends the added fields and the empty line to the copied head.
    mutating func feed(_ bytes: ByteBuffer, allocator: ByteBufferAllocator, finish: (inout ByteBuffer) -> Void,
                       send: (ByteBuffer) -> Void) {
        var input = bytes
        if var held = self.pending {
            self.pending = nil
            held.writeBuffer(&input)
            input = held
        }
        while input.readableBytes > 0 {
            if self.bodyLeft > 0 {
                let count = min(self.bodyLeft, input.readableBytes)
                send(input.readSlice(length: count)!)
                self.bodyLeft -= count
                continue
            }
            guard let end = ByteHeadProxy.headEnd(input) else {
                self.pending = input
                return
            }
            var out = allocator.buffer(capacity: end + 128)
            self.bodyLeft = input.withUnsafeReadableBytes { bytes in
                ByteHeadProxy.copyHead(UnsafeRawBufferPointer(rebasing: bytes[..<end]), dropping: self.drops, into: &out)
            }
            finish(&out)
            input.moveReaderIndex(forwardBy: end)
            send(out)
        }
    }
}

/// Rewrites each request head into bytes for its own upstream connection; bodies pass through.
private final class ByteHeadDownstream: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let upstreamPort: Int
    private let upstream = BenchUpstreamLink<ByteBuffer>()
    private var stream = HeadRewritingStream(dropping: ByteHeadProxy.requestDrops)
    private var requestCount: UInt64 = 0

    init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    func channelActive(context: ChannelHandlerContext) {
        let downstream = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.upstream.connect(port: self.upstreamPort, from: context) { channel in
            try channel.pipeline.syncOperations.addHandler(ByteHeadUpstream(downstream: downstream))
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.upstream.close()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let upstream = self.upstream
        var count = self.requestCount
        self.stream.feed(self.unwrapInboundIn(data), allocator: context.channel.allocator, finish: { out in
            count &+= 1
            out.writeStaticString("host: origin\r\nx-forwarded-proto: http\r\nx-request-id: ")
            out.writeString(String(count, radix: 16))
            out.writeStaticString("\r\n\r\n")
        }, send: { upstream.send($0) })
        self.requestCount = count
    }

    func channelReadComplete(context: ChannelHandlerContext) { self.upstream.flush() }
}

/// Rewrites each response head into bytes for the client; bodies pass through.
private final class ByteHeadUpstream: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let downstream: NIOLoopBound<ChannelHandlerContext>
    private var stream = HeadRewritingStream(dropping: ByteHeadProxy.responseDrops)

    init(downstream: NIOLoopBound<ChannelHandlerContext>) { self.downstream = downstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let client = self.downstream.value
        self.stream.feed(self.unwrapInboundIn(data), allocator: context.channel.allocator,
                         finish: { $0.writeStaticString("server: envoy\r\n\r\n") },
                         send: { client.write(NIOAny($0), promise: nil) })
    }

    func channelReadComplete(context: ChannelHandlerContext) { self.downstream.value.flush() }

    func channelInactive(context: ChannelHandlerContext) {
        self.downstream.value.close(promise: nil)
        context.fireChannelInactive()
    }
}
