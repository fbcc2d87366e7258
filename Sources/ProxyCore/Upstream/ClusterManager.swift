import NIOCore
import ProxyConfig
import Synchronization

/// The clusters of a snapshot, ready for traffic, and their connection pools per event loop.
public final class ClusterManager: Sendable {
    public let clusters: [String: UpstreamCluster]
    private let pools = Mutex<[PoolKey: ConnectionPool]>([:])

    private struct PoolKey: Hashable {
        let cluster: ObjectIdentifier
        let loop: ObjectIdentifier
    }

    public init(_ clusters: [Cluster], stats: StatsStore) throws {
        var built: [String: UpstreamCluster] = [:]
        for cluster in clusters { built[cluster.name] = try UpstreamCluster(cluster, stats: stats) }
        self.clusters = built
    }

    public func cluster(named name: String) -> UpstreamCluster? { self.clusters[name] }

    /// The pool of `cluster` on `loop`, made on first use.
    func pool(for cluster: UpstreamCluster, on loop: any EventLoop) -> ConnectionPool {
        let key = PoolKey(cluster: ObjectIdentifier(cluster), loop: ObjectIdentifier(loop))
        return self.pools.withLock { pools in
            if let pool = pools[key] { return pool }
            let pool = ConnectionPool(eventLoop: loop, cluster: cluster)
            pools[key] = pool
            return pool
        }
    }

    /// Closes every idle pooled connection (shutdown, or clusters replaced by a reload).
    public func closeIdleConnections() {
        let pools = self.pools.withLock { Array($0.values) }
        for pool in pools { pool.eventLoop.execute { pool.close() } }
    }
}
