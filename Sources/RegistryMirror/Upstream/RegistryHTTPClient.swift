import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ProxyCore
import Synchronization

/// Where a request goes: scheme, host and port, the key of a kept-alive connection.
public struct OriginKey: Hashable, Sendable, CustomStringConvertible {
    public var secure: Bool
    public var host: String
    public var port: Int

    public init(secure: Bool, host: String, port: Int) {
        self.secure = secure
        self.host = host.lowercased()
        self.port = port
    }

    public init?(url: URL) {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host,
              !host.isEmpty else { return nil }
        self.init(secure: scheme == "https", host: host, port: url.port ?? (scheme == "https" ? 443 : 80))
    }

    public var description: String { "\(self.secure ? "https" : "http")://\(self.host):\(self.port)" }
}

/// Why an upstream exchange failed before it produced a response.
public enum UpstreamFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    case refusedAddress(host: String, address: String)
    case resolution(String)
    case connect(String)
    case protocolError(String)
    case timeout

    public var description: String {
        switch self {
        case .refusedAddress(let host, let address):
            return "\(host) resolves to \(address), a loopback/private/link-local address (allow_private_upstreams is off)"
        case .resolution(let text): return "cannot resolve \(text)"
        case .connect(let text): return "cannot connect: \(text)"
        case .protocolError(let text): return "bad upstream response: \(text)"
        case .timeout: return "upstream timed out"
        }
    }
}

/// A small HTTP/1.1 client for the mirror's upstream traffic (registries, token realms, CDN redirect targets):
/// resolves names itself so every address is checked against the `AddressPolicy` before a connection is made
/// (and the checked address is the one connected to), verifies TLS, and keeps connections alive per origin.
public final class RegistryHTTPClient: Sendable {
    public typealias Connection = UpstreamConnectionHandle

    let group: any EventLoopGroup
    let resolver: any DNSResolver
    let connectTimeout: TimeAmount
    /// How long an upstream may stay silent (waiting for its answer, or in the middle of a body).
    let idleTimeout: TimeAmount
    private let idle = Mutex<[OriginKey: [Connection]]>([:])
    private let defaultTLS: NIOSSLContext
    /// TLS contexts for origins with their own trust (a cluster's `trusted_ca`), by origin.
    private let originTLS: Mutex<[OriginKey: NIOSSLContext]>

    public init(group: any EventLoopGroup, resolver: any DNSResolver = SystemDNSResolver(),
                connectTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(60)) throws {
        self.idleTimeout = idleTimeout
        self.group = group
        self.resolver = resolver
        self.connectTimeout = connectTimeout
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.applicationProtocols = ["http/1.1"]
        self.defaultTLS = try NIOSSLContext(configuration: configuration)
        self.originTLS = Mutex([:])
    }

    /// Uses `context` for TLS to `origin` (a cluster's own CA or client certificate).
    public func setTLS(_ context: NIOSSLContext, for origin: OriginKey) {
        self.originTLS.withLock { $0[origin] = context }
    }

    /// Sends a request and returns the response head with its body still to read. The caller must read the body
    /// to the end (the connection is then reused) or drop the response (the connection is closed).
    public func send(_ method: HTTPMethod, url: URL, headers: HTTPHeaders, policy: AddressPolicy) async throws
    -> UpstreamResponse {
        guard let origin = OriginKey(url: url) else { throw UpstreamFetchError.protocolError("unsupported URL \(url)") }
        var target = url.path.isEmpty ? "/" : url.path
        if url.path.hasSuffix("/"), !target.hasSuffix("/") { target += "/" }
        if let query = url.query { target += "?" + query }
        var requestHeaders = headers
        let defaultPort = origin.secure ? 443 : 80
        requestHeaders.replaceOrAdd(name: "host", value: origin.port == defaultPort ? origin.host : "\(origin.host):\(origin.port)")
        requestHeaders.replaceOrAdd(name: "user-agent", value: "mirrord")
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: requestHeaders)
        // A kept-alive connection may have been closed by the server meanwhile: one retry on a fresh one.
        if let reused = self.takeIdle(origin) {
            if let response = try? await self.exchange(head, on: reused) { return response }
        }
        let connection = try await self.connect(origin, policy: policy)
        return try await self.exchange(head, on: connection)
    }

    private func exchange(_ head: HTTPRequestHead, on connection: Connection) async throws
    -> UpstreamResponse {
        do {
            try await connection.write(head)
            let part = try await connection.next()
            guard case .head(let responseHead)? = part else {
                throw UpstreamFetchError.protocolError("connection closed before a response")
            }
            let hasBody = head.method != .HEAD && responseHead.status.code >= 200
                && responseHead.status != .noContent && responseHead.status != .notModified
            return UpstreamResponse(head: responseHead, connection: connection, client: self, hasBody: hasBody)
        } catch {
            connection.close()
            throw error
        }
    }

    private func takeIdle(_ origin: OriginKey) -> Connection? {
        self.idle.withLock { idle in
            while let connection = idle[origin]?.popLast() {
                if connection.channel.isActive { return connection }
                connection.close()
            }
            return nil
        }
    }

    func release(_ connection: Connection) {
        guard connection.channel.isActive, connection.keepAlive else {
            connection.close()
            return
        }
        let surplus = self.idle.withLock { idle -> Connection? in
            idle[connection.origin, default: []].append(connection)
            return idle[connection.origin]!.count > 8 ? idle[connection.origin]!.removeFirst() : nil
        }
        surplus?.close()
    }

    private func connect(_ origin: OriginKey, policy: AddressPolicy) async throws -> Connection {
        let addresses: [String]
        do {
            addresses = try await self.resolver.resolve(origin.host, family: .AUTO)
        } catch {
            throw UpstreamFetchError.resolution("\(origin.host): \(error)")
        }
        guard let first = addresses.first else { throw UpstreamFetchError.resolution(origin.host) }
        // Every address is checked, not just the one used: a name that also points inward is refused outright.
        if let refused = addresses.first(where: { !policy.allows($0) }) {
            throw UpstreamFetchError.refusedAddress(host: origin.host, address: refused)
        }
        let tls: NIOSSLContext? = origin.secure ? (self.originTLS.withLock { $0[origin] } ?? self.defaultTLS) : nil
        let serverName = addresses.contains(origin.host) ? nil : origin.host
        let idleTimeout = self.idleTimeout
        do {
            let address = try NIOCore.SocketAddress(ipAddress: first, port: origin.port)
            let channel = try await ClientBootstrap(group: self.group)
                .connectTimeout(self.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.autoRead, value: false)
                .channelOption(.maxMessagesPerRead, value: UInt(ResponsePartQueue.readsPerCycle))
                .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
                    minimum: 1024, initial: 64 * 1024, maximum: ResponsePartQueue.largestRead))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponsePartReader(idleTimeout: idleTimeout))
                    }
                }
                .connect(to: address).get()
            let queue = try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.handler(type: ResponsePartReader.self).makeQueue(eventLoop: channel.eventLoop)
            }.get()
            return UpstreamConnectionHandle(channel: channel, queue: queue, origin: origin)
        } catch {
            throw UpstreamFetchError.connect("\(origin): \(error)")
        }
    }

    /// Closes every idle connection (shutdown, tests).
    public func closeIdle() {
        let all = self.idle.withLock { idle -> [Connection] in
            defer { idle = [:] }
            return idle.values.flatMap { $0 }
        }
        for connection in all { connection.close() }
    }
}
