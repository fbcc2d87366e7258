/// Every listener → virtual host → route → action, in matching order: what `mirrorctl routes dump` shows.
public struct RouteDump: Sendable, Encodable {
    public struct ListenerEntry: Sendable, Encodable {
        public var listener: String
        public var address: String
        public var serverNames: [String]
        public var routeConfig: String
        public var virtualHosts: [HostEntry]
        /// The registry mirror filter of this connection manager, if it has one.
        public var registryMirror: RegistryEntry?
    }

    /// What the registry mirror of a connection manager serves, and from where.
    public struct RegistryEntry: Sendable, Encodable {
        public var cache: String
        public var maxSize: Int64?
        public var upstreams: [UpstreamEntry]
    }

    public struct UpstreamEntry: Sendable, Encodable {
        public var registry: String
        public var aliases: [String]
        public var cluster: String
        public var tagTTL: String
        /// The stale-while-revalidate window after the TTL; nil when off.
        public var tagStaleWhileRevalidate: String?
    }

    public struct HostEntry: Sendable, Encodable {
        public var name: String
        public var domains: [String]
        public var routes: [RouteEntry]
    }

    public struct RouteEntry: Sendable, Encodable {
        public var index: Int
        public var name: String?
        public var match: String
        public var action: String
        public var clusters: [String]
        public var hostRewrite: String?
        public var pathRewrite: String?
        public var timeout: String?
    }

    public var listeners: [ListenerEntry]

    public init(_ set: ConfigSet) {
        self.listeners = set.listeners.flatMap { listener in
            listener.allFilterChains.compactMap { chain -> ListenerEntry? in
                guard let manager = chain.httpConnectionManager else { return nil }
                return ListenerEntry(
                    listener: listener.name, address: listener.address.description, serverNames: chain.serverNames,
                    routeConfig: manager.routeConfig.name,
                    virtualHosts: manager.routeConfig.virtualHosts.map { host in
                        HostEntry(name: host.name, domains: host.domains,
                                  routes: host.routes.enumerated().map { Self.entry($0.offset, $0.element) })
                    },
                    registryMirror: Self.registry(manager, clusters: set.clusters))
            }
        }
    }

    static func entry(_ index: Int, _ route: Route) -> RouteEntry {
        var match = route.match.path.description
        if !route.match.caseSensitive { match += " (case-insensitive)" }
        for header in route.match.headers { match += " header \(header.name)\(header.invert ? " !" : " ")\(Self.describe(header.rule))" }
        for parameter in route.match.queryParameters { match += " query \(parameter.name)" }
        var entry = RouteEntry(index: index, name: route.name, match: match, action: "", clusters: [])
        switch route.action {
        case .route(let action):
            entry.clusters = action.clusterNames
            if case .weightedClusters(let clusters) = action.target {
                entry.action = "weighted " + clusters.map { "\($0.name)=\($0.weight)" }.joined(separator: ",")
            } else {
                entry.action = "cluster \(action.clusterNames[0])"
            }
            switch action.hostRewrite {
            case .literal(let host)?: entry.hostRewrite = host
            case .auto?: entry.hostRewrite = "auto"
            case nil: break
            }
            switch action.pathRewrite {
            case .prefix(let prefix)?: entry.pathRewrite = "prefix \(prefix)"
            case .regex(let pattern, let substitution)?: entry.pathRewrite = "regex \(pattern.pattern) → \(substitution)"
            case nil: break
            }
            entry.timeout = action.timeout.isZero ? "none" : action.timeout.description
        case .redirect(let redirect):
            entry.action = "redirect \(redirect.responseCode.status)" + (redirect.host.map { " to \($0)" } ?? "")
        case .directResponse(let response):
            entry.action = "direct_response \(response.status)"
        }
        return entry
    }

    static func describe(_ rule: HeaderMatcher.Rule) -> String {
        switch rule {
        case .present(let present): return present ? "present" : "absent"
        case .range(let start, let end): return "in [\(start),\(end))"
        case .string(let matcher):
            switch matcher.kind {
            case .exact(let value): return "= \(value)"
            case .prefix(let value): return "^= \(value)"
            case .suffix(let value): return "$= \(value)"
            case .contains(let value): return "*= \(value)"
            case .regex(let regex): return "~ \(regex.pattern)"
            }
        }
    }

    static func registry(_ manager: HTTPConnectionManager, clusters: [Cluster]) -> RegistryEntry? {
        let filter = manager.httpFilters.lazy.compactMap { filter -> RegistryMirrorFilter? in
            if case .registryMirror(let config) = filter.kind { return config } else { return nil }
        }.first
        guard let filter else { return nil }
        let byName = Dictionary(clusters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let upstreams = RegistryUpstreamCatalog.upstreams(byName, manager: manager).map { cluster in
            UpstreamEntry(registry: RegistryUpstreamCatalog.name(of: cluster),
                          aliases: cluster.mirrordOptions?.registry?.aliases ?? [], cluster: cluster.name,
                          tagTTL: (cluster.mirrordOptions?.registry?.tagTTL ?? RegistryUpstreamOptions.defaultTagTTL).description,
                          tagStaleWhileRevalidate: (cluster.mirrordOptions?.registry?.tagStaleWhileRevalidate)
                              .flatMap { window in window.isZero ? nil : window.description })
        }
        return RegistryEntry(cache: filter.cachePath, maxSize: filter.maxCacheSize, upstreams: upstreams)
    }
}
