import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import ProxyConfig
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The data plane: one NIO server per listener of a snapshot, routing to the snapshot's clusters, and the
/// applier that moves it from one snapshot to the next without dropping a request.
public final class ProxyServer: Sendable {
    public let group: any EventLoopGroup
    public let stats: StatsStore
    public let accessLogs: AccessLogWriters
    private let logger: Logger
    private let state = Mutex<State>(State())
    /// Serialises applies; requests never wait for it.
    private let applying = AsyncSerialQueue()
    /// How long a replaced or removed listener's connections get to finish (`--drain-time-s`).
    public let drainTime: Duration
    /// Builds the registry mirror (or any local responder) for connection managers that configure one.
    let responderFactory: (any LocalResponderFactory)?
    /// Longest wait for a new DNS cluster's first answer; after it the cluster has no hosts (503 UH) until one comes.
    public static let initialResolutionTimeout: Duration = .seconds(5)

    struct State {
        var listeners: [String: BoundListener] = [:]
        var clusters: ClusterManager?
        var dnsTasks: [ObjectIdentifier: Task<Void, Never>] = [:]
        var snapshot: ConfigSnapshot?
    }

    /// A listening socket and the slot holding the chain runtime new connections get.
    struct BoundListener: Sendable {
        let config: Listener
        let channel: any Channel
        let slot: ListenerSlot

        var chain: ChainRuntime { self.slot.current }
    }

    /// What one apply did, for logs and stats.
    public struct ApplyReport: Sendable, Equatable {
        public var listenersAdded: [String] = []
        public var listenersModified: [String] = []
        public var listenersRouteOnly: [String] = []
        public var listenersRemoved: [String] = []
        public var clustersAdded: [String] = []
        public var clustersModified: [String] = []
        public var clustersRemoved: [String] = []
    }

    public init(group: any EventLoopGroup, stats: StatsStore = StatsStore(), logger: Logger,
                drainTime: Duration = .seconds(600), responderFactory: (any LocalResponderFactory)? = nil) {
        self.responderFactory = responderFactory
        self.group = group
        self.stats = stats
        self.accessLogs = AccessLogWriters()
        self.logger = logger
        self.drainTime = drainTime
    }

    /// Builds the clusters and binds every listener of `snapshot`; returns the bound address of each listener.
    @discardableResult
    public func start(_ snapshot: ConfigSnapshot) async throws -> [String: NIOCore.SocketAddress] {
        try await self.apply(snapshot)
        return self.state.withLock { $0.listeners.compactMapValues { $0.channel.localAddress } }
    }

    public var currentSnapshot: ConfigSnapshot? { self.state.withLock { $0.snapshot } }

    /// Moves the data plane to `snapshot`, all or nothing, make before break:
    /// new and changed clusters are built (and resolved) first; new and changed listeners bind their sockets
    /// (SO_REUSEPORT lets a replacement share its predecessor's address); only when every bind succeeded are
    /// route tables swapped in place, replaced listeners drained and retired clusters' pools closed.
    /// On any failure nothing changes and the error is thrown.
    @discardableResult
    public func apply(_ snapshot: ConfigSnapshot) async throws -> ApplyReport {
        try await self.applying.run { try await self.applyLocked(snapshot) }
    }

    private func applyLocked(_ snapshot: ConfigSnapshot) async throws -> ApplyReport {
        let (previousClusters, previousListeners) = self.state.withLock { ($0.clusters, $0.listeners) }
        var report = ApplyReport()
        let clusters = try ClusterManager(Array(snapshot.clusters.values), stats: self.stats, reusing: previousClusters)
        let fresh = clusters.clusters.values.filter { cluster in previousClusters?.clusters[cluster.config.name] !== cluster }
        for cluster in fresh.sorted(by: { $0.config.name < $1.config.name }) {
            if previousClusters?.clusters[cluster.config.name] == nil {
                report.clustersAdded.append(cluster.config.name)
            } else {
                report.clustersModified.append(cluster.config.name)
            }
            if cluster.config.tls != nil, cluster.config.mirrordOptions?.insecureSkipTLSVerify == true {
                self.logger.critical("cluster \(cluster.config.name): upstream TLS certificates are NOT verified (insecure_skip_tls_verify)")
            }
        }
        let retiredClusters = previousClusters?.retired(comparedTo: clusters) ?? []
        report.clustersRemoved = retiredClusters.map(\.config.name).filter { clusters.clusters[$0] == nil }.sorted()
        let newTasks = await self.startDNS(for: fresh)

        // Bind what needs a socket before anything else changes: new listeners, and listeners whose address
        // changed. Any other change keeps the socket and swaps the chain behind it.
        var bound: [String: BoundListener] = [:]
        var chains: [String: ChainRuntime] = [:]
        do {
            for listener in snapshot.listeners {
                if let existing = previousListeners[listener.name], existing.config.address == listener.address {
                    if existing.config.withoutRoutes != listener.withoutRoutes {
                        chains[listener.name] = ChainRuntime(try self.routingState(for: listener, clusters: clusters))
                    }
                    continue
                }
                bound[listener.name] = try await self.bind(listener, clusters: clusters)
            }
        } catch {
            for listener in bound.values { try? await listener.channel.close() }
            for task in newTasks.values { task.cancel() }
            throw error
        }

        // Commit.
        var retiredListeners: [BoundListener] = []
        var retiredChains: [ChainRuntime] = []
        var listeners: [String: BoundListener] = [:]
        for listener in snapshot.listeners {
            if let replacement = bound[listener.name] {
                listeners[listener.name] = replacement
                if let old = previousListeners[listener.name] {
                    retiredListeners.append(old)
                    report.listenersModified.append(listener.name)
                } else {
                    report.listenersAdded.append(listener.name)
                }
            } else if let existing = previousListeners[listener.name] {
                if let chain = chains[listener.name] {
                    // Same socket, new chain: new connections get it, existing ones drain on the old one.
                    retiredChains.append(existing.slot.swap(chain))
                    report.listenersModified.append(listener.name)
                } else {
                    // Same socket and chain; the routes (and the clusters they point at) are swapped in place.
                    if existing.config != listener { report.listenersRouteOnly.append(listener.name) }
                    existing.chain.replace(with: try self.routingState(for: listener, clusters: clusters))
                }
                listeners[listener.name] = BoundListener(config: listener, channel: existing.channel, slot: existing.slot)
            }
        }
        for (name, old) in previousListeners where listeners[name] == nil {
            retiredListeners.append(old)
            report.listenersRemoved.append(name)
        }
        let retiredTasks = self.state.withLock { state -> [Task<Void, Never>] in
            state.listeners = listeners
            state.clusters = clusters
            state.snapshot = snapshot
            state.dnsTasks.merge(newTasks) { _, new in new }
            let gone = retiredClusters.map { ObjectIdentifier($0) }
            defer { for key in gone { state.dnsTasks[key] = nil } }
            return gone.compactMap { state.dnsTasks[$0] }
        }
        for task in retiredTasks { task.cancel() }
        for cluster in retiredClusters { cluster.retire() }
        for listener in retiredListeners { self.drain(listener) }
        for chain in retiredChains { self.drain(chain) }
        self.count(report)
        return report
    }

    private func count(_ report: ApplyReport) {
        self.stats.counter("listener_manager.listener_added").increment(by: report.listenersAdded.count)
        self.stats.counter("listener_manager.listener_modified").increment(by: report.listenersModified.count)
        self.stats.counter("listener_manager.listener_in_place_updated").increment(by: report.listenersRouteOnly.count)
        self.stats.counter("listener_manager.listener_removed").increment(by: report.listenersRemoved.count)
        self.stats.counter("cluster_manager.cluster_added").increment(by: report.clustersAdded.count)
        self.stats.counter("cluster_manager.cluster_modified").increment(by: report.clustersModified.count)
        self.stats.counter("cluster_manager.cluster_removed").increment(by: report.clustersRemoved.count)
        let (listeners, clusters) = self.state.withLock { ($0.listeners.count, $0.clusters?.clusters.count ?? 0) }
        self.stats.gauge("listener_manager.total_listeners_active").set(listeners)
        self.stats.gauge("cluster_manager.active_clusters").set(clusters)
    }

    /// Stops accepting on a removed listener (or one that moved address) and drains its chain.
    private func drain(_ listener: BoundListener) {
        let chain = listener.chain
        Task { try? await listener.channel.close() }
        self.drain(chain)
    }

    /// Lets a retired chain's connections finish: each gets `Connection: close` on its next response (HTTP/1),
    /// so clients reconnect to the new chain; whatever is still open at the drain time is closed. Idle
    /// keep-alive connections are not cut early: a request racing the close would see a reset, which Envoy's
    /// drain also avoids.
    private func drain(_ chain: ChainRuntime) {
        chain.startDraining()
        chain.connections.notifyDrain(closeIdle: false)
        let drainTime = self.drainTime
        let draining = self.stats.gauge("listener_manager.total_listeners_draining")
        draining.increment()
        Task {
            let deadline = ContinuousClock.now + drainTime
            while ContinuousClock.now < deadline, !chain.connections.isEmpty {
                try? await Task.sleep(for: .milliseconds(20))
            }
            chain.connections.closeAll()
            draining.decrement()
        }
    }

    func routingState(for listener: Listener, clusters: ClusterManager) throws -> RoutingState {
        // Plaintext listeners take the chain without SNI names (TLS filter-chain selection comes with TLS listeners).
        let chains = listener.allFilterChains.filter { $0.httpConnectionManager != nil }
        guard let chain = chains.first(where: { $0.serverNames.isEmpty }) ?? chains.first,
              let manager = chain.httpConnectionManager else {
            throw ProxyServerError.noHTTPFilterChain(listener.name)
        }
        let responder = try self.responderFactory?.responder(for: manager, clusters: clusters.clusters.mapValues(\.config),
                                                             stats: self.stats)
        return RoutingState(listener: listener, manager: manager, clusters: clusters, stats: self.stats,
                            writers: self.accessLogs, responder: responder)
    }

    /// Resolves new DNS clusters once (concurrently, bounded), then keeps refreshing each at its `dns_refresh_rate`.
    func startDNS(for clusters: [UpstreamCluster]) async -> [ObjectIdentifier: Task<Void, Never>] {
        let dnsClusters = clusters.filter(\.usesDNS)
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
        var tasks: [ObjectIdentifier: Task<Void, Never>] = [:]
        for cluster in dnsClusters {
            tasks[ObjectIdentifier(cluster)] = Task {
                let interval = cluster.config.dnsRefreshRate.swiftDuration
                let resolver = resolver(for: cluster)
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    await cluster.refreshDNS(using: resolver)
                }
            }
        }
        return tasks
    }

    /// How much response body may wait in mirrord for a slow client before upstream reads pause: the listener's
    /// buffer limit, but at most 256 KiB. The kernel's socket buffer (megabytes, autotuned) already keeps the
    /// client's pipe full; a 1 MiB queue per stream added ~1.2 MiB of memory to each large download and no speed.
    static func responseWatermark(_ bufferLimit: Int) -> Int { max(min(bufferLimit, 256 * 1024), 2) }

    func bind(_ listener: Listener, clusters: ClusterManager) async throws -> BoundListener {
        let slot = ListenerSlot(ChainRuntime(try self.routingState(for: listener, clusters: clusters)))
        let bufferLimit = listener.perConnectionBufferLimitBytes
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A replacement listener binds the same address before its predecessor stops accepting.
            .serverChannelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: Self.responseWatermark(bufferLimit) / 2,
                                                                    high: Self.responseWatermark(bufferLimit)))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The chain current when the connection arrives serves it for its whole life.
                    let chain = slot.current
                    chain.connections.add(channel)
                    switch chain.current.manager.codecType {
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
        self.logger.debug("listener \(listener.name) listening on \(channel.localAddress.map(\.hostPort) ?? "?")")
        return BoundListener(config: listener, channel: channel, slot: slot)
    }

    public static let version = "0.1.0"

    /// Active listeners with their bound addresses, for `/listeners`.
    public func activeListeners() -> [(name: String, address: String, host: String, port: Int)] {
        self.state.withLock { state in
            state.listeners.values.sorted { $0.config.name < $1.config.name }.map { listener in
                let address = listener.channel.localAddress
                return (listener.config.name, address?.hostPort ?? listener.config.address.description,
                        address?.ipAddress ?? listener.config.address.address, address?.port ?? listener.config.address.portValue)
            }
        }
    }

    /// Active clusters by name, for `/clusters`.
    public func activeClusters() -> [UpstreamCluster] {
        self.state.withLock { $0.clusters?.clusters.values.sorted { $0.config.name < $1.config.name } ?? [] }
    }

    /// `/drain_listeners`: stop accepting everywhere; connections finish as in a drain.
    public func drainListeners() async {
        let listeners = self.state.withLock { state in
            defer { state.listeners = [:] }
            return Array(state.listeners.values)
        }
        for listener in listeners { self.drain(listener) }
        self.stats.counter("listener_manager.listener_stopped").increment(by: listeners.count)
    }

    /// The bound address of a listener (port 0 in the configuration becomes the kernel's choice here).
    public func address(of listener: String) -> NIOCore.SocketAddress? {
        self.state.withLock { $0.listeners[listener] }?.channel.localAddress
    }

    /// Stops accepting, lets in-flight requests finish for up to `drainTime`, then closes what is left.
    public func shutdown(drainTime: Duration) async {
        let (listeners, clusters, tasks) = self.state.withLock { state in
            defer {
                state.listeners = [:]
                state.dnsTasks = [:]
            }
            return (Array(state.listeners.values), state.clusters, Array(state.dnsTasks.values))
        }
        for listener in listeners {
            listener.chain.startDraining()
            try? await listener.channel.close()
            listener.chain.connections.notifyDrain(closeIdle: true)
        }
        let deadline = ContinuousClock.now + drainTime
        while ContinuousClock.now < deadline, listeners.contains(where: { !$0.chain.connections.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for listener in listeners { listener.chain.connections.closeAll() }
        for task in tasks { task.cancel() }
        clusters?.closeIdleConnections()
        await self.responderFactory?.shutdown()
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

