import NIOCore
import NIOPosix
import ProxyConfig

/// A small DNS client over UDP for a cluster's `dns_resolvers`: A and AAAA queries, answers parsed with
/// name compression, each nameserver tried in turn with a timeout.
public struct NameserverDNSResolver: DNSResolver {
    let servers: [NIOCore.SocketAddress]
    let group: any EventLoopGroup
    let timeout: TimeAmount

    public init(servers: [ProxyConfig.SocketAddress], group: any EventLoopGroup, timeout: TimeAmount = .seconds(2)) throws {
        self.servers = try servers.map { try NIOCore.SocketAddress(ipAddress: $0.address, port: $0.portValue) }
        self.group = group
        self.timeout = timeout
    }

    public func resolve(_ host: String, family: Cluster.DNSLookupFamily) async throws -> [String] {
        if IPAddress.isLiteral(host) { return [host] }
        var v4: [String] = [], v6: [String] = []
        switch family {
        case .V4_ONLY: v4 = try await self.query(host, type: .a)
        case .V6_ONLY: v6 = try await self.query(host, type: .aaaa)
        case .AUTO:
            v6 = (try? await self.query(host, type: .aaaa)) ?? []
            if v6.isEmpty { v4 = try await self.query(host, type: .a) }
        case .V4_PREFERRED:
            v4 = (try? await self.query(host, type: .a)) ?? []
            if v4.isEmpty { v6 = try await self.query(host, type: .aaaa) }
        case .ALL:
            v4 = (try? await self.query(host, type: .a)) ?? []
            v6 = (try? await self.query(host, type: .aaaa)) ?? []
        }
        return DNSFamilyOrder.order(v4: v4, v6: v6, family: family)
    }

    func query(_ host: String, type: DNSMessage.RecordType) async throws -> [String] {
        var lastError: any Error = DNSError.timeout(host)
        for server in self.servers {
            do {
                return try await self.ask(server, host: host, type: type)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private func ask(_ server: NIOCore.SocketAddress, host: String, type: DNSMessage.RecordType) async throws -> [String] {
        let id = UInt16.random(in: 0...UInt16.max)
        let eventLoop = self.group.next()
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        let bindHost = server.protocol == .inet6 ? "::" : "0.0.0.0"
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DNSReplyHandler(id: id, promise: promise))
                }
            }
            .bind(host: bindHost, port: 0).get()
        defer { channel.close(promise: nil) }
        let timeout = eventLoop.scheduleTask(in: self.timeout) { promise.fail(DNSError.timeout(host)) }
        defer { timeout.cancel() }
        let query = DNSMessage.query(id: id, name: host, type: type, allocator: channel.allocator)
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: query))
        var reply = try await promise.futureResult.get()
        return try DNSMessage.addresses(in: &reply, type: type)
    }
}

/// Completes the promise with the first datagram whose id matches the query.
private final class DNSReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let id: UInt16
    let promise: EventLoopPromise<ByteBuffer>

    init(id: UInt16, promise: EventLoopPromise<ByteBuffer>) {
        self.id = id
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        guard envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self) == self.id else { return }
        self.promise.succeed(envelope.data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise.fail(error)
    }
}

/// The DNS wire format (RFC 1035) as far as A/AAAA lookups need it.
enum DNSMessage {
    enum RecordType: UInt16 {
        case a = 1
        case aaaa = 28
    }

    static func query(id: UInt16, name: String, type: RecordType, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 32 + name.utf8.count)
        buffer.writeMultipleIntegers(id, UInt16(0x0100), UInt16(1), UInt16(0), UInt16(0), UInt16(0))
        for label in name.split(separator: ".") {
            buffer.writeInteger(UInt8(min(label.utf8.count, 63)))
            buffer.writeString(String(label.prefix(63)))
        }
        buffer.writeInteger(UInt8(0))
        buffer.writeMultipleIntegers(type.rawValue, UInt16(1))
        return buffer
    }

    /// Every A or AAAA record in the answer section, in order.
    static func addresses(in buffer: inout ByteBuffer, type: RecordType) throws -> [String] {
        guard let (_, flags, questions, answers, _, _) = buffer.readMultipleIntegers(
            as: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16).self) else { throw DNSError.malformedResponse }
        let responseCode = flags & 0x000F
        guard flags & 0x8000 != 0 else { throw DNSError.malformedResponse }
        guard responseCode == 0 || responseCode == 3 else { throw DNSError.malformedResponse }
        for _ in 0..<questions {
            try Self.skipName(&buffer)
            guard buffer.readInteger(as: UInt32.self) != nil else { throw DNSError.malformedResponse }
        }
        var result: [String] = []
        for _ in 0..<answers {
            try Self.skipName(&buffer)
            guard let (recordType, _, _, length) = buffer.readMultipleIntegers(as: (UInt16, UInt16, UInt32, UInt16).self),
                  let data = buffer.readBytes(length: Int(length)) else { throw DNSError.malformedResponse }
            if recordType == RecordType.a.rawValue, type == .a, data.count == 4 {
                result.append(data.map(String.init).joined(separator: "."))
            } else if recordType == RecordType.aaaa.rawValue, type == .aaaa, data.count == 16 {
                result.append(Self.formatIPv6(data))
            }
        }
        return result
    }

    /// Skips a possibly compressed name (a pointer ends it).
    static func skipName(_ buffer: inout ByteBuffer) throws {
        for _ in 0..<128 {
            guard let length = buffer.readInteger(as: UInt8.self) else { throw DNSError.malformedResponse }
            if length == 0 { return }
            if length & 0xC0 == 0xC0 {
                guard buffer.readInteger(as: UInt8.self) != nil else { throw DNSError.malformedResponse }
                return
            }
            guard buffer.readSlice(length: Int(length)) != nil else { throw DNSError.malformedResponse }
        }
        throw DNSError.malformedResponse
    }

    static func formatIPv6(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}
