import Foundation
import NIOSSL
import ProxyConfig
import ProxyCore

/// The upstream registries of one configuration: by cluster (host-based routes name a cluster) and by registry
/// name and alias (path-prefix and `?ns=` requests name a registry). A registry no cluster serves is unknown:
/// the mirror fetches only from hosts the configuration names.
struct RegistryUpstreams: Sendable {
    var byCluster: [String: UpstreamRegistry] = [:]
    var byName: [String: UpstreamRegistry] = [:]

    func named(_ registry: String) -> UpstreamRegistry? { self.byName[RegistryRequest.canonical(registry)] }

    /// Clusters that are registry upstreams: those with `registry` options, those whose host is a public
    /// registry, and those the connection manager's routes send to.
    static func candidates(_ clusters: [String: Cluster], manager: HTTPConnectionManager) -> [Cluster] {
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
    static func host(of cluster: Cluster) -> String? {
        if let sni = cluster.tls?.sni, !sni.isEmpty { return sni }
        return cluster.allEndpoints.first.map { $0.hostname ?? $0.address.address }
    }

    static func baseURL(of cluster: Cluster) -> URL? {
        guard let endpoint = cluster.allEndpoints.first else { return nil }
        let secure = cluster.tls != nil
        let host = cluster.tls?.sni.flatMap { $0.isEmpty ? nil : $0 } ?? endpoint.address.address
        let port = endpoint.address.portValue
        let bracketed = host.contains(":") ? "[\(host)]" : host
        let portText = port == (secure ? 443 : 80) ? "" : ":\(port)"
        return URL(string: "\(secure ? "https" : "http")://\(bracketed)\(portText)")
    }

    /// The registry name a cluster answers to: configured, else its host with Docker Hub's aliases folded.
    static func name(of cluster: Cluster) -> String {
        if let name = cluster.mirrordOptions?.registry?.name { return RegistryRequest.canonical(name) }
        return RegistryRequest.canonical(Self.host(of: cluster) ?? cluster.name)
    }
}
