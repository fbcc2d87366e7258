/// Which listener, virtual host, route and cluster take a request, and how it leaves: `mirrorctl routes match`.
public struct RouteExplanation: Sendable, Encodable {
    public var listener: String
    public var matched: Bool
    public var virtualHost: String?
    public var domainRule: String?
    public var routeIndex: Int?
    public var routeName: String?
    public var routeMatch: String?
    public var action: String?
    public var cluster: String?
    public var upstreamHost: String?
    public var upstreamPath: String?
    public var addedHeaders: [String: String]
    public var status: Int?
    public var location: String?
    public var responseFlag: String?

    /// Explains the request for every listener (or the one named), choosing the filter chain by SNI-like host match.
    public static func explain(_ set: ConfigSet, request: RouteRequest, listener name: String?) -> [RouteExplanation] {
        set.listeners.filter { name == nil || $0.name == name }.compactMap { listener in
            let host = RouteTable.stripPort(request.host.lowercased())
            let chains = listener.allFilterChains.filter { $0.httpConnectionManager != nil }
            guard let chain = chains.first(where: { $0.serverNames.contains(host) }) ?? chains.first(where: { $0.serverNames.isEmpty })
                ?? chains.first, let manager = chain.httpConnectionManager else { return nil }
            return Self.explain(table: RouteTable(manager.routeConfig), request: request, listener: listener.name, clusters: set.clusters)
        }
    }

    static func explain(table: RouteTable, request: RouteRequest, listener: String, clusters: [Cluster]) -> RouteExplanation {
        var result = RouteExplanation(listener: listener, matched: false, addedHeaders: [:])
        guard let host = table.virtualHost(for: request.host) else {
            result.status = 404
            result.responseFlag = "NR"
            return result
        }
        result.virtualHost = host.name
        result.domainRule = Self.domainRule(host, request.host)
        guard let decision = table.match(request) else {
            result.status = 404
            result.responseFlag = "NR"
            return result
        }
        let entry = RouteDump.entry(decision.routeIndex, decision.route)
        result.matched = true
        result.routeIndex = decision.routeIndex
        result.routeName = decision.route.name
        result.routeMatch = entry.match
        result.action = entry.action
        switch decision.route.action {
        case .route(let action):
            result.cluster = decision.cluster()
            result.upstreamPath = decision.upstreamPath
            result.upstreamHost = decision.upstreamHost
            if action.hostRewrite == .auto, let cluster = clusters.first(where: { $0.name == result.cluster }) {
                let endpoint = cluster.allEndpoints.first
                result.upstreamHost = cluster.discovery == .STATIC ? (endpoint?.hostname ?? request.host) : endpoint?.address.address
            }
            for (name, value) in decision.addedHeaders { result.addedHeaders[name] = value }
            if let cluster = result.cluster, !clusters.contains(where: { $0.name == cluster }) {
                result.status = action.clusterNotFoundResponseCode.status
                result.responseFlag = "NC"
            }
        case .redirect(let redirect):
            result.status = redirect.responseCode.status
            result.location = decision.redirectLocation(for: request)
        case .directResponse(let response):
            result.status = response.status
        }
        return result
    }

    static func domainRule(_ host: VirtualHost, _ requestHost: String) -> String {
        let lower = requestHost.lowercased()
        if host.domains.contains(lower) { return "exact \(lower)" }
        if let suffix = host.domains.filter({ $0.hasPrefix("*") && $0 != "*" && lower.hasSuffix($0.dropFirst()) })
            .max(by: { $0.count < $1.count }) { return "suffix \(suffix)" }
        if let prefix = host.domains.filter({ $0.hasSuffix("*") && $0 != "*" && lower.hasPrefix($0.dropLast()) })
            .max(by: { $0.count < $1.count }) { return "prefix \(prefix)" }
        return "default *"
    }
}
