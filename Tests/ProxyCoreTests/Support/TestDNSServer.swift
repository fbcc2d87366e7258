import NIOCore
import NIOPosix
import Synchronization

/// A DNS responder on 127.0.0.1 (UDP) answering A queries from a table the test can change.
final class TestDNSServer: Sendable {
    let records: Mutex<[String: [String]]>
    let queries = Atomic<Int>(0)
    private let channel = Mutex<(any Channel)?>(nil)

    init(_ records: [String: [String]]) { self.records = Mutex(records) }

    var port: Int { self.channel.withLock { $0?.localAddress?.port ?? 0 } }

    func start(group: any EventLoopGroup) async throws {
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Responder(server: self)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.channel.withLock { $0 = channel }
    }

    func stop() async { try? await self.channel.withLock { $0 }?.close() }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let server: TestDNSServer
        init(server: TestDNSServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = self.unwrapInboundIn(data)
            var query = envelope.data
            self.server.queries.add(1, ordering: .relaxed)
            guard let id = query.readInteger(as: UInt16.self), query.readableBytes > 10 else { return }
            query.moveReaderIndex(forwardBy: 10)
            let questionStart = query.readerIndex
            var labels: [String] = []
            while let length = query.readInteger(as: UInt8.self), length > 0 {
                labels.append(query.readString(length: Int(length)) ?? "")
            }
            guard let type = query.readInteger(as: UInt16.self), query.readInteger(as: UInt16.self) != nil else { return }
            let question = envelope.data.getSlice(at: questionStart, length: query.readerIndex - questionStart)!
            let name = labels.joined(separator: ".")
            let addresses = type == 1 ? (self.server.records.withLock { $0[name] } ?? []) : []
            var reply = context.channel.allocator.buffer(capacity: 512)
            reply.writeMultipleIntegers(id, UInt16(0x8180), UInt16(1), UInt16(addresses.count), UInt16(0), UInt16(0))
            reply.writeImmutableBuffer(question)
            for address in addresses {
                reply.writeMultipleIntegers(UInt16(0xC00C), UInt16(1), UInt16(1), UInt32(5), UInt16(4))
                for octet in address.split(separator: ".") { reply.writeInteger(UInt8(octet) ?? 0) }
            }
            context.writeAndFlush(self.wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)),
                                  promise: nil)
        }
    }
}
