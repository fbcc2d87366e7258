import NIOCore
import ProxyConfig

/// The clusters of a snapshot, ready for traffic. Built per reload; clusters whose configuration did not change
/// are carried over as the same objects, so their pools, connections and counters stay.
public final class ClusterManager: Sendable {
    public let clusters: [String: UpstreamCluster]

    public init(_ clusters: [Cluster], stats: StatsStore, reusing previous: ClusterManager? = nil) throws {
        var built: [String: UpstreamCluster] = [:]
        for cluster in clusters {
            if let existing = previous?.clusters[cluster.name], existing.config == cluster {
                built[cluster.name] = existing
            } else {
                built[cluster.name] = try UpstreamCluster(cluster, stats: stats)
            }
        }
        self.clusters = built
    }

    public func cluster(named name: String) -> UpstreamCluster? { self.clusters[name] }

    /// Clusters of `self` that `next` no longer uses (removed, or replaced by a changed configuration).
    public func retired(comparedTo next: ClusterManager) -> [UpstreamCluster] {
        self.clusters.values.filter { next.clusters[$0.config.name] !== $0 }
    }

    /// Closes every idle pooled connection (shutdown).
    public func closeIdleConnections() {
        for cluster in self.clusters.values { cluster.retire() }
    }
}
