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

    static func baseURL(of cluster: Cluster) -> URL? {
        guard let endpoint = cluster.allEndpoints.first else { return nil }
        let secure = cluster.tls != nil
        let host = cluster.tls?.sni.flatMap { $0.isEmpty ? nil : $0 } ?? endpoint.address.address
        let port = endpoint.address.portValue
        let bracketed = host.contains(":") ? "[\(host)]" : host
        let portText = port == (secure ? 443 : 80) ? "" : ":\(port)"
        return URL(string: "\(secure ? "https" : "http")://\(bracketed)\(portText)")
    }
}
