/// What routing decided for one request: the virtual host, the route, and the request as it goes upstream.
public struct RouteDecision: Sendable {
    private let host: CompiledVirtualHost
    private let compiled: CompiledRoute
    public var virtualHost: VirtualHost { self.host.host }
    public var virtualHostIndex: Int { self.host.index }
    public var route: Route { self.compiled.route }
    public var routeIndex: Int { self.compiled.index }
    /// What a forwarding route needs per request, by reference (nil for direct responses and redirects).
    public var plan: ForwardingPlan? { self.compiled.plan }
    public var routeName: String? { self.compiled.route.name }
    /// Host after `host_rewrite_literal`; nil for `auto_host_rewrite` until an endpoint is chosen.
    public let upstreamHost: String?
    /// Path (with query) after `prefix_rewrite` or `regex_rewrite`.
    public let upstreamPath: String
    /// Headers the router adds because of the rewrites (`x-envoy-original-host`, `x-envoy-original-path`).
    public let addedHeaders: [(String, String)]

    init(request: RouteRequest, host: CompiledVirtualHost, compiled: CompiledRoute) {
        self.host = host
        self.compiled = compiled
        var added: [(String, String)] = []
        var host: String? = request.host
        var path = request.path
        switch compiled.hostRewrite {
        case .literal(let literal)?:
            host = literal
            added.append(("x-envoy-original-host", request.host))
        case .auto?:
            host = nil
        case nil:
            break
        }
        if compiled.pathRewrite != nil,   // the match is passed only when a rewrite needs it (passing copies it)
           let rewritten = Self.rewritePath(request, match: compiled.match, rewrite: compiled.pathRewrite) {
            added.append(("x-envoy-original-path", request.path))
            path = rewritten
        }
        self.upstreamHost = host
        self.upstreamPath = path
        self.addedHeaders = added
    }

    /// The cluster for a route action; weighted clusters are chosen by `random` in `0..<total weight`.
    public func cluster(random: UInt64 = 0) -> String? {
        guard let plan = self.compiled.plan else { return nil }
        switch plan.target {
        case .cluster(let name):
            return name
        case .weightedClusters(let clusters):
            let total = UInt64(clusters.reduce(0) { $0 + $1.weight })
            guard total > 0 else { return nil }
            var point = random % total
            for cluster in clusters {
                if point < UInt64(cluster.weight) { return cluster.name }
                point -= UInt64(cluster.weight)
            }
            return clusters.last?.name
        }
    }

    /// Envoy's path rewrite: the matched prefix (or the whole path for `path`) replaced, or a regex substitution.
    static func rewritePath(_ request: RouteRequest, match: RouteMatch, rewrite: RouteAction.PathRewrite?) -> String? {
        guard let rewrite else { return nil }
        let path = request.pathWithoutQuery
        let query = request.path[path.endIndex...]
        switch rewrite {
        case .prefix(let replacement):
            let matchedLength: Int
            switch match.path {
            case .prefix(let prefix), .pathSeparatedPrefix(let prefix): matchedLength = prefix.utf8.count
            case .path: matchedLength = path.utf8.count
            case .safeRegex: return nil
            }
            let rest = path.utf8.dropFirst(matchedLength)
            return replacement + String(Substring(rest)) + query
        case .regex(let pattern, let substitution):
            return pattern.replacingMatches(in: String(path), with: substitution) + query
        }
    }

    /// The `Location` of a redirect route, built from the request as Envoy's `RedirectAction` does.
    public func redirectLocation(for request: RouteRequest) -> String? {
        guard case .redirect(let redirect) = self.route.action else { return nil }
        let scheme = redirect.scheme ?? request.scheme
        // Envoy: host_redirect replaces the whole host (port included); port_redirect swaps the port and drops
        // it when it is the new scheme's default; a scheme change drops the old scheme's default port.
        var host = redirect.host ?? request.host
        func defaultPort(_ scheme: String) -> String { scheme == "https" ? "443" : "80" }
        let bare = RouteTable.stripPort(host)
        if let port = redirect.port {
            host = String(port) == defaultPort(scheme) ? bare : "\(bare):\(port)"
        } else if scheme != request.scheme, host != bare, host.hasSuffix(":" + defaultPort(request.scheme)) {
            host = bare
        }
        var path = String(request.pathWithoutQuery)
        var query = redirect.stripQuery ? "" : String(request.querySuffix)
        switch redirect.pathRewrite {
        case .path(let newPath)?:
            if let mark = newPath.firstIndex(of: "?") {
                path = String(newPath[..<mark])
                query = String(newPath[mark...])
            } else {
                path = newPath
            }
        case .prefix(let replacement)?:
            if case .prefix(let prefix) = self.route.match.path { path = replacement + path.dropFirst(prefix.count) }
            else if case .pathSeparatedPrefix(let prefix) = self.route.match.path { path = replacement + path.dropFirst(prefix.count) }
            else { path = replacement }
        case .regex(let pattern, let substitution)?:
            path = pattern.replacingMatches(in: path, with: substitution)
        case nil:
            break
        }
        return "\(scheme)://\(host)\(path)\(query)"
    }
}
