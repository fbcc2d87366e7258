import Yams

/// One decoded configuration file: a bootstrap, or an LDS/CDS `DiscoveryResponse`.
public enum ConfigFile: Sendable {
    case bootstrap(Bootstrap)
    case discovery(DiscoveryFile)

    /// Decodes a YAML node tree whose kind is told by its top-level keys.
    static func decode(_ reader: NodeReader) -> ConfigFile? {
        guard case .mapping(let mapping) = reader.node else {
            reader.error("expected a mapping at the top of the file (a bootstrap, or `version_info` and `resources`)")
            return nil
        }
        let keys = Set(mapping.compactMap { $0.key.string })
        let discoveryKeys: Set<String> = ["resources", "version_info", "type_url", "nonce", "canary", "control_plane"]
        if !keys.isDisjoint(with: discoveryKeys), keys.isDisjoint(with: ["static_resources", "dynamic_resources", "admin", "node"]) {
            return DiscoveryFile.decode(reader).map(ConfigFile.discovery)
        }
        if keys.contains("name"), keys.contains("address") || keys.contains("load_assignment") || keys.contains("type") {
            reader.error("this looks like a single resource; an LDS/CDS file is `resources:` with a list of resources, each with an '@type'")
            return nil
        }
        return reader.object(Bootstrap.fields).map { .bootstrap(Bootstrap.decode($0)) }
    }
}

/// An LDS or CDS file as Envoy reads it: `{version_info, resources: [{"@type": ..., ...}]}`.
public struct DiscoveryFile: Sendable, Hashable, Encodable {
    public enum Kind: String, Sendable, Encodable { case listeners, clusters, empty }

    public var versionInfo: String?
    public var listeners: [Listener]
    public var clusters: [Cluster]
    public var source: SourceInfo

    public var kind: Kind {
        if !self.listeners.isEmpty { return .listeners }
        if !self.clusters.isEmpty { return .clusters }
        return .empty
    }

    static func decode(_ reader: NodeReader) -> DiscoveryFile? {
        guard let object = reader.object(["version_info", "resources", "type_url", "nonce", "canary", "control_plane"])
        else { return nil }
        var listeners: [Listener] = []
        var clusters: [Cluster] = []
        if !object.has("resources") { object.missing("resources") }
        for resource in object.field("resources")?.list() ?? [] {
            guard case .mapping(let mapping) = resource.node else {
                resource.error("expected a resource mapping with an '@type'")
                continue
            }
            guard let typeNode = mapping["@type"] else {
                resource.error("missing '@type'; expected \(TypeURL.listener) or \(TypeURL.cluster)")
                continue
            }
            let typeReader = resource.appending("@type", typeNode)
            guard let url = typeReader.string() else { continue }
            // The resource's own fields plus "@type"; its decoder reports unknown fields.
            let body = NodeReader(node: .mapping(.init(mapping.filter { $0.key.string != "@type" }, mapping.tag,
                                                       mapping.style, mapping.mark)),
                                  path: resource.path, context: resource.context)
            if TypeURL.matches(url, TypeURL.listener) {
                if let listener = Listener.decode(body) { listeners.append(listener) }
            } else if TypeURL.matches(url, TypeURL.cluster) {
                if let cluster = Cluster.decode(body) { clusters.append(cluster) }
            } else if url.contains("envoy.api.v2.") {
                typeReader.error("'@type' \(url) is Envoy's removed v2 API; use \(TypeURL.listener) or \(TypeURL.cluster)")
            } else {
                typeReader.error("'@type' \(url) is not a resource mirrord reads from files; expected \(TypeURL.listener) or \(TypeURL.cluster)")
            }
        }
        if !listeners.isEmpty, !clusters.isEmpty {
            object.error("a file holds either listeners (LDS) or clusters (CDS), not both")
        }
        return DiscoveryFile(versionInfo: object.string("version_info"), listeners: listeners, clusters: clusters,
                             source: object.source)
    }
}
