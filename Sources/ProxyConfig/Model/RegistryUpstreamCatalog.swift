/// Which clusters a registry mirror fetches from and by what names: the one rule the data plane and
/// `mirrorctl routes` share.
public enum RegistryUpstreamCatalog {
    public static let dockerHubAliases: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io"]

    /// Lower-cased, with Docker Hub's aliases folded together.
    public static func canonical(_ registry: String) -> String {
        let lower = registry.lowercased()
        return dockerHubAliases.contains(lower) ? "docker.io" : lower
    }

    /// Clusters that are registry upstreams of a connection manager's mirror: those with `registry` options,
    /// those whose host is a public registry, and those its routes send to.
    public static func upstreams(_ clusters: [String: Cluster], manager: HTTPConnectionManager) -> [Cluster] {
        var routed = Set<String>()
        for host in manager.routeConfig.virtualHosts {
            for route in host.routes {
                if case .route(let action) = route.action { routed.formUnion(action.clusterNames) }
            }
        }
        return clusters.values.filter { cluster in
            cluster.mirrordOptions?.registry != nil || routed.contains(cluster.name)
                || Self.host(of: cluster).map(RegistryHosts.isRegistry) == true
        }.sorted { $0.name < $1.name }
    }

    /// The host requests go to: the TLS SNI when set, else the first endpoint's address.
    public static func host(of cluster: Cluster) -> String? {
        if let sni = cluster.tls?.sni, !sni.isEmpty { return sni }
        return cluster.allEndpoints.first.map { $0.hostname ?? $0.address.address }
    }

    /// The registry name a cluster answers to: configured, else its host with Docker Hub's aliases folded.
    public static func name(of cluster: Cluster) -> String {
        if let name = cluster.mirrordOptions?.registry?.name { return Self.canonical(name) }
        return Self.canonical(Self.host(of: cluster) ?? cluster.name)
    }
}
