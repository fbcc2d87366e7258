/// Every listener → virtual host → route → action, in matching order: what `mirrorctl routes dump` shows.
public struct RouteDump: Sendable, Encodable {
    public struct ListenerEntry: Sendable, Encodable {
        public var listener: String
        public var address: String
        public var serverNames: [String]
        public var routeConfig: String
        public var virtualHosts: [HostEntry]
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
                    })
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
}
