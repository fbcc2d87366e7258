import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ProxyConfig
import Synchronization

/// An open HTTP/1.1 connection to one endpoint of a cluster. Confined to its channel's event loop; the
/// `Sendable` conformance only lets futures of that loop carry it.
final class UpstreamConnection: @unchecked Sendable {
    let channel: any Channel
    let handler: UpstreamHandler
    let endpoint: UpstreamEndpoint
    /// When it was last returned to the pool; the pool's sweep closes it once idle for the cluster's idle timeout.
    var idleSince = NIODeadline.now()

    init(channel: any Channel, handler: UpstreamHandler, endpoint: UpstreamEndpoint) {
        self.channel = channel
        self.handler = handler
        self.endpoint = endpoint
    }
}

/// Keep-alive connections of one cluster on one event loop. Confined to that loop (every method asserts it),
/// so it needs no lock, and the upstream channel shares the downstream channel's loop: forwarding never hops
/// threads. `@unchecked Sendable` only so callbacks of futures on that same loop may capture it.
final class ConnectionPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    let cluster: UpstreamCluster
    private var idle: [UpstreamEndpoint: [UpstreamConnection]] = [:]
    private var closed = false
    /// One timer for the whole pool instead of one per idle connection: returning a connection and taking it
    /// again for the next request would otherwise schedule and cancel a timer on every exchange.
    private var sweep: Scheduled<Void>?

    init(eventLoop: any EventLoop, cluster: UpstreamCluster) {
        self.eventLoop = eventLoop
        self.cluster = cluster
    }

    /// An idle connection to `endpoint` when one is open, else a new one.
    func acquire(_ endpoint: UpstreamEndpoint, serverHostname: String?) -> EventLoopFuture<UpstreamConnection> {
        if let connection = self.takeIdle(endpoint) { return self.eventLoop.makeSucceededFuture(connection) }
        return self.connect(endpoint, serverHostname: serverHostname)
    }

    /// An open idle connection to `endpoint`, without allocating a future: the common case of a warm pool.
    func takeIdle(_ endpoint: UpstreamEndpoint) -> UpstreamConnection? {
        self.eventLoop.assertInEventLoop()
        while let connection = self.idle[endpoint]?.popLast() {
            if connection.channel.isActive, connection.handler.reusable { return connection }
        }
        return nil
    }

    private func connect(_ endpoint: UpstreamEndpoint, serverHostname: String?) -> EventLoopFuture<UpstreamConnection> {
        let cluster = self.cluster
        let limit = cluster.limits.maxConnections
        if cluster.openConnections.add(1, ordering: .relaxed).oldValue >= limit {
            cluster.openConnections.subtract(1, ordering: .relaxed)
            cluster.stats.connectionOverflow.increment()
            return self.eventLoop.makeFailedFuture(UpstreamError.overflow)
        }
        let tls = cluster.tlsContext
        let bootstrap = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(cluster.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // Large responses (layers) come in reads of up to 256 KiB rather than NIO's default 64 KiB: a quarter
            // of the read and write calls and loop passes per byte. Small responses still get small buffers.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048,
                                                                                 maximum: 256 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let ssl = try NIOSSLClientHandler(context: tls, serverHostname: serverHostname)
                        try channel.pipeline.syncOperations.addHandler(ssl)
                        let verify = cluster.config.mirrordOptions?.insecureSkipTLSVerify != true
                        try channel.pipeline.syncOperations.addHandler(
                            UpstreamIdentityVerifier(expectedHostname: verify ? serverHostname : nil, cluster: cluster))
                    }
                    // Heads sent upstream are written by the exchange as bytes, from a parsed request and validated
                    // configuration; responses are read by the same strict parser as requests (`UpstreamHandler`).
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
        cluster.stats.connectionsTotal.increment()
        let counters = cluster.counters(for: endpoint)
        return bootstrap.connect(host: endpoint.host, port: endpoint.port).flatMapError { error in
            cluster.openConnections.subtract(1, ordering: .relaxed)
            if case ChannelError.connectTimeout = error {
                cluster.stats.connectTimeouts.increment()
                return self.eventLoop.makeFailedFuture(UpstreamError.connectTimeout)
            }
            cluster.stats.connectFailures.increment()
            counters.cxConnectFail.add(1, ordering: .relaxed)
            return self.eventLoop.makeFailedFuture(UpstreamError.connectFailure("\(error)"))
        }.flatMapThrowing { channel in
            let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
            cluster.stats.connectionsActive.increment()
            counters.cxTotal.add(1, ordering: .relaxed)
            counters.cxActive.add(1, ordering: .relaxed)
            handler.onClose = {
                cluster.openConnections.subtract(1, ordering: .relaxed)
                cluster.stats.connectionsActive.decrement()
                counters.cxActive.subtract(1, ordering: .relaxed)
            }
            return UpstreamConnection(channel: channel, handler: handler, endpoint: endpoint)
        }
    }

    /// Returns a connection after its exchange: kept for reuse when it is still good, closed otherwise.
    func release(_ connection: UpstreamConnection) {
        self.eventLoop.assertInEventLoop()
        guard !self.closed, connection.channel.isActive, connection.handler.reusable,
              !connection.handler.responseInProgress, self.cluster.hasHost(connection.endpoint) else {
            connection.channel.close(promise: nil)
            return
        }
        connection.idleSince = NIODeadline.now()
        self.idle[connection.endpoint, default: []].append(connection)
        if self.sweep == nil { self.scheduleSweep(at: connection.idleSince + self.cluster.idleTimeout) }
    }

    private func scheduleSweep(at deadline: NIODeadline) {
        self.sweep = self.eventLoop.scheduleTask(deadline: deadline) { [weak self] in self?.closeExpired() }
    }

    /// Closes connections idle for the idle timeout. Each endpoint's list is in release order (reuse takes from
    /// the end), so the expired ones are a prefix and the first survivor says when to look again.
    private func closeExpired() {
        self.sweep = nil
        let timeout = self.cluster.idleTimeout
        let now = NIODeadline.now()
        var next: NIODeadline?
        for (endpoint, connections) in self.idle {
            let expired = connections.prefix { $0.idleSince + timeout <= now }
            for connection in expired { connection.channel.close(promise: nil) }
            let kept = connections.dropFirst(expired.count)
            self.idle[endpoint] = kept.isEmpty ? nil : Array(kept)
            if let oldest = kept.first { next = min(next ?? .distantFuture, oldest.idleSince + timeout) }
        }
        if let next, !self.closed { self.scheduleSweep(at: next) }
    }

    /// Closes idle connections to hosts no longer in the cluster (a DNS answer dropped them); busy ones close
    /// when their exchange ends (`release` checks membership).
    func closeConnections(toHostsNotIn hosts: Set<UpstreamEndpoint>) {
        self.eventLoop.assertInEventLoop()
        for (endpoint, connections) in self.idle where !hosts.contains(endpoint) {
            for connection in connections { connection.channel.close(promise: nil) }
            self.idle[endpoint] = nil
        }
    }

    /// Closes every idle connection and refuses to keep new ones (the cluster was removed or replaced).
    func close() {
        self.eventLoop.assertInEventLoop()
        self.closed = true
        for connection in self.idle.values.joined() { connection.channel.close(promise: nil) }
        self.idle = [:]
        self.sweep?.cancel()
        self.sweep = nil
    }
}

