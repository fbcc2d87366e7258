import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import ProxyConfig
import Synchronization

/// The data plane: one NIO server per listener of a snapshot, routing to the snapshot's clusters.
public final class ProxyServer: Sendable {
    public let group: any EventLoopGroup
    public let stats: StatsStore
    public let accessLogs: AccessLogWriters
    private let logger: Logger
    private let listeners = Mutex<[String: BoundListener]>([:])
    private let clusterManager = Mutex<ClusterManager?>(nil)
    private let dnsTasks = Mutex<[Task<Void, Never>]>([])
    /// Longest wait at start for a DNS cluster's first answer; after it the cluster has no hosts (503 UH) until one comes.
    public static let initialResolutionTimeout: Duration = .seconds(5)

    /// A listening socket, the filter-chain runtimes behind it, and its open connections.
    struct BoundListener: Sendable {
        let config: Listener
        let channel: any Channel
        let chain: ChainRuntime
        let connections: ConnectionTracker
    }

    public init(group: any EventLoopGroup, stats: StatsStore = StatsStore(), logger: Logger) {
        self.group = group
        self.stats = stats
        self.accessLogs = AccessLogWriters()
        self.logger = logger
    }

    /// Builds the clusters and binds every listener of `snapshot`; returns the bound address of each listener.
    @discardableResult
    public func start(_ snapshot: ConfigSnapshot) async throws -> [String: NIOCore.SocketAddress] {
        let clusters = try ClusterManager(Array(snapshot.clusters.values), stats: self.stats)
        self.clusterManager.withLock { $0 = clusters }
        for cluster in snapshot.clusters.values.sorted(by: { $0.name < $1.name })
        where cluster.tls != nil && cluster.mirrordOptions?.insecureSkipTLSVerify == true {
            self.logger.critical("cluster \(cluster.name): upstream TLS certificates are NOT verified (insecure_skip_tls_verify)")
        }
        await self.startDNS(for: clusters)
        var bound: [String: NIOCore.SocketAddress] = [:]
        for listener in snapshot.listeners {
            let result = try await self.bind(listener, clusters: clusters)
            self.listeners.withLock { $0[listener.name] = result }
            bound[listener.name] = result.channel.localAddress
            self.logger.debug("listener \(listener.name) listening on \(result.channel.localAddress.map(\.hostPort) ?? "?")")
        }
        return bound
    }

    /// Resolves every DNS cluster once (concurrently, bounded), then keeps refreshing each at its `dns_refresh_rate`.
    func startDNS(for clusters: ClusterManager) async {
        let dnsClusters = clusters.clusters.values.filter(\.usesDNS)
        let group = self.group
        let logger = self.logger
        func resolver(for cluster: UpstreamCluster) -> any DNSResolver {
            guard !cluster.config.dnsResolvers.isEmpty,
                  let custom = try? NameserverDNSResolver(servers: cluster.config.dnsResolvers, group: group) else {
                return SystemDNSResolver()
            }
            return custom
        }
        await withTaskGroup(of: Void.self) { tasks in
            for cluster in dnsClusters {
                tasks.addTask {
                    await withTaskGroup(of: Void.self) { race in
                        race.addTask { await cluster.refreshDNS(using: resolver(for: cluster)) }
                        race.addTask { try? await Task.sleep(for: Self.initialResolutionTimeout) }
                        await race.next()
                        race.cancelAll()
                    }
                    if cluster.endpoints.isEmpty {
                        logger.warning("cluster \(cluster.config.name): no address resolved yet for \(cluster.configuredEndpoints.map(\.description).joined(separator: ", "))")
                    }
                }
            }
        }
        let refreshers = dnsClusters.map { cluster in
            Task {
                let interval = cluster.config.dnsRefreshRate.swiftDuration
                let resolver = resolver(for: cluster)
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    await cluster.refreshDNS(using: resolver)
                }
            }
        }
        self.dnsTasks.withLock { $0 += refreshers }
    }

    func bind(_ listener: Listener, clusters: ClusterManager) async throws -> BoundListener {
        // Plaintext listeners take the chain without SNI names (TLS filter-chain selection comes with TLS listeners).
        let chains = listener.allFilterChains.filter { $0.httpConnectionManager != nil }
        guard let chainConfig = chains.first(where: { $0.serverNames.isEmpty }) ?? chains.first,
              let manager = chainConfig.httpConnectionManager else {
            throw ProxyServerError.noHTTPFilterChain(listener.name)
        }
        let chain = ChainRuntime(RoutingState(listener: listener, manager: manager, clusters: clusters, stats: self.stats,
                                              writers: self.accessLogs))
        let connections = ConnectionTracker()
        let bufferLimit = listener.perConnectionBufferLimitBytes
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: bufferLimit / 2, high: bufferLimit))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    connections.add(channel)
                    switch manager.codecType {
                    case .HTTP1, .HTTP3:
                        try Self.configureHTTP1(channel, chain: chain)
                    case .HTTP2:
                        try Self.configureHTTP2(channel, chain: chain)
                    case .AUTO:
                        try channel.pipeline.syncOperations.addHandler(ProtocolSniffer(
                            http1: { try Self.configureHTTP1($0, chain: chain) },
                            http2: { try Self.configureHTTP2($0, chain: chain) }))
                    }
                }
            }
        let channel = try await bootstrap.bind(host: listener.address.address, port: listener.address.portValue).get()
        return BoundListener(config: listener, channel: channel, chain: chain, connections: connections)
    }

    static func configureHTTP1(_ channel: any Channel, chain: ChainRuntime) throws {
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false,
                                                                        withErrorHandling: true)
        try channel.pipeline.syncOperations.addHandler(DownstreamHandler(chain: chain))
    }

    /// HTTP/2: each stream gets its own `DownstreamHandler` behind NIO's HTTP/2 ↔ HTTP/1 message codec.
    static func configureHTTP2(_ channel: any Channel, chain: ChainRuntime) throws {
        _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try stream.pipeline.syncOperations.addHandler(DownstreamHandler(chain: chain, http2: true))
            }
        }
    }

    /// The bound address of a listener (port 0 in the configuration becomes the kernel's choice here).
    public func address(of listener: String) -> NIOCore.SocketAddress? {
        self.listeners.withLock { $0[listener] }?.channel.localAddress
    }

    /// Stops accepting, lets in-flight requests finish for up to `drainTime`, then closes what is left.
    public func shutdown(drainTime: Duration) async {
        let listeners = self.listeners.withLock { listeners in
            defer { listeners = [:] }
            return Array(listeners.values)
        }
        for listener in listeners {
            listener.chain.startDraining()
            try? await listener.channel.close()
            listener.connections.closeIdle()
        }
        let deadline = ContinuousClock.now + drainTime
        while ContinuousClock.now < deadline, listeners.contains(where: { !$0.connections.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for listener in listeners { listener.connections.closeAll() }
        for task in self.dnsTasks.withLock({ tasks in defer { tasks = [] }; return tasks }) { task.cancel() }
        self.clusterManager.withLock { $0 }?.closeIdleConnections()
        self.accessLogs.flushAll()
    }
}

public enum ProxyServerError: Error, Sendable, CustomStringConvertible {
    case noHTTPFilterChain(String)

    public var description: String {
        switch self {
        case .noHTTPFilterChain(let name): return "listener \(name) has no filter chain with an HTTP connection manager"
        }
    }
}

/// The open downstream connections of one listener, so a drain can close idle ones and, at its end, the rest.
final class ConnectionTracker: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        self.channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { _ in self.channels.withLock { _ = $0.removeValue(forKey: key) } }
    }

    var isEmpty: Bool { self.channels.withLock { $0.isEmpty } }
    var count: Int { self.channels.withLock { $0.count } }

    /// Asks each connection to close once it has no request in flight.
    func closeIdle() {
        for channel in self.channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
    }

    func closeAll() {
        for channel in self.channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}

extension NIOCore.SocketAddress {
    /// `127.0.0.1:5000` or `[::1]:5000`, as people write addresses.
    public var hostPort: String {
        guard let ip = self.ipAddress, let port = self.port else { return "\(self)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// Sent to every connection of a draining listener: close now if idle, else after the current response.
struct DrainEvent: Sendable {}
