import Foundation
@testable import ProxyConfig
import TestSupport

/// Loads in-memory files as the daemon would load them from disk; the first file is the one named.
func load(_ files: KeyValuePairs<String, String>) -> ConfigSet {
    var map: [String: String] = [:]
    for (name, text) in files { map[name] = text }
    return ConfigLoader.load(paths: files.map(\.key), from: InMemoryFileSource(map))
}

/// The repository folder, found from this file so tests read the real examples and fixtures.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

extension ConfigSet {
    var errorMessages: [String] { self.diagnostics.blockingErrors.map(\.message) }
    var warningMessages: [String] { self.diagnostics.warnings.filter { $0.origin == .mirrord }.map(\.message) }
}

/// A minimal valid CDS file with one cluster named `c` on 127.0.0.1:5000, and extra cluster fields.
func cds(_ extra: String = "", name: String = "c") -> String {
    """
    version_info: "1"
    resources:
    - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
      name: \(name)
    \(reindent(extra, 2))
      load_assignment:
        cluster_name: \(name)
        endpoints:
        - lb_endpoints:
          - endpoint:
              address:
                socket_address: {address: 127.0.0.1, port_value: 5000}
    """
}

/// A minimal LDS file whose route configuration's `virtual_hosts` entries are `hosts` (YAML at any indentation).
func lds(virtualHosts hosts: String, routeConfigExtra: String = "") -> String {
    let hosts = reindent(hosts, 10)
    let routeConfigExtra = reindent(routeConfigExtra, 10)
    return """
    version_info: "1"
    resources:
    - "@type": type.googleapis.com/envoy.config.listener.v3.Listener
      name: l0
      address:
        socket_address: {address: 127.0.0.1, port_value: 10000}
      filter_chains:
      - filters:
        - name: envoy.filters.network.http_connection_manager
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
            stat_prefix: ingress
            route_config:
              name: r
    \(routeConfigExtra)
              virtual_hosts:
    \(hosts)
            http_filters:
            - name: envoy.filters.http.router
              typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
    """
}
