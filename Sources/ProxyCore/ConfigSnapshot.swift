import ProxyConfig

/// An immutable, validated configuration ready for the data plane: resources by name and compiled route tables.
///
/// Built only from a `ConfigSet` without errors, so the data plane never sees a half-valid configuration.
/// Each request will pin the snapshot that was active when its headers arrived.
public struct ConfigSnapshot: Sendable {
    public let version: Int
    public let ldsVersion: String?
    public let cdsVersion: String?
    public let listeners: [Listener]
    public let clusters: [String: Cluster]
    /// One route table per listener and filter chain, in filter-chain order.
    public let routeTables: [String: [RouteTable]]

    public struct InvalidConfiguration: Error, Sendable {
        public let diagnostics: [Diagnostic]
    }

    public init(_ set: ConfigSet, version: Int) throws(InvalidConfiguration) {
        guard set.isValid else { throw InvalidConfiguration(diagnostics: set.diagnostics.blockingErrors) }
        self.version = version
        self.ldsVersion = set.ldsVersion
        self.cdsVersion = set.cdsVersion
        self.listeners = set.listeners
        self.clusters = Dictionary(set.clusters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var tables: [String: [RouteTable]] = [:]
        for listener in set.listeners {
            tables[listener.name] = listener.allFilterChains.compactMap { chain in
                chain.httpConnectionManager.map { RouteTable($0.routeConfig) }
            }
        }
        self.routeTables = tables
    }

    /// A one-line-per-listener description for start-up logs.
    public var summary: [String] {
        self.listeners.map { listener in
            let hosts = self.routeTables[listener.name, default: []].flatMap(\.configuration.virtualHosts)
            return "listener \(listener.name) on \(listener.address): "
                + hosts.map { "\($0.name) [\($0.domains.joined(separator: ","))]" }.joined(separator: ", ")
        } + self.clusters.values.sorted { $0.name < $1.name }.map { cluster in
            "cluster \(cluster.name) \(cluster.discovery.rawValue) "
                + cluster.allEndpoints.map(\.address.description).joined(separator: ",")
                + (cluster.tls != nil ? " (TLS)" : "")
        }
    }
}
