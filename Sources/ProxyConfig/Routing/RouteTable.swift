/// A route configuration compiled for matching: Envoy's virtual-host lookup, then its routes in order.
///
/// `mirrorctl routes match` and the data plane use this same type, so what the CLI says is what happens.
/// A class: it is built once per configuration and read on every request, so callers share it rather than copy it.
public final class RouteTable: Sendable {
    public let configuration: RouteConfiguration
    /// The virtual hosts as shared references, so matching never copies a route's value.
    private let hosts: [CompiledVirtualHost]
    private let exact: [String: Int]
    /// `*.example.com` stored as `.example.com`, longest first.
    private let suffixes: [(suffix: String, host: Int)]
    /// `registry-*` stored as `registry-`, longest first.
    private let prefixes: [(prefix: String, host: Int)]
    private let wildcard: Int?
    /// Whether any route looks at request headers; when none does, callers need not copy them into the request.
    public let matchesHeaders: Bool

    public init(_ configuration: RouteConfiguration) {
        self.configuration = configuration
        var exact: [String: Int] = [:]
        var suffixes: [(String, Int)] = []
        var prefixes: [(String, Int)] = []
        var wildcard: Int?
        for (index, host) in configuration.virtualHosts.enumerated() {
            for domain in host.domains {
                if domain == "*" {
                    if wildcard == nil { wildcard = index }
                } else if domain.hasPrefix("*") {
                    suffixes.append((String(domain.dropFirst()), index))
                } else if domain.hasSuffix("*") {
                    prefixes.append((String(domain.dropLast()), index))
                } else if exact[domain] == nil {
                    exact[domain] = index
                }
            }
        }
        // Stable sort keeps configuration order among wildcards of equal length.
        self.suffixes = suffixes.enumerated().sorted { ($0.element.0.count, -$0.offset) > ($1.element.0.count, -$1.offset) }.map(\.element)
        self.prefixes = prefixes.enumerated().sorted { ($0.element.0.count, -$0.offset) > ($1.element.0.count, -$1.offset) }.map(\.element)
        self.exact = exact
        self.wildcard = wildcard
        self.hosts = configuration.virtualHosts.enumerated().map {
            CompiledVirtualHost($0.element, index: $0.offset, configuration: configuration)
        }
        self.matchesHeaders = configuration.virtualHosts.contains { host in host.routes.contains { !$0.match.headers.isEmpty } }
    }

    /// The virtual host for a Host/:authority value: exact, longest `*suffix`, longest `prefix*`, then `*`.
    public func virtualHost(for rawHost: String) -> VirtualHost? {
        self.virtualHostIndex(for: rawHost).map { self.configuration.virtualHosts[$0] }
    }

    func virtualHostIndex(for rawHost: String) -> Int? {
        var host = rawHost.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? rawHost.lowercased() : rawHost
        if self.configuration.ignorePortInHostMatching { host = Self.stripPort(host) }
        if let index = self.exact[host] { return index }
        for entry in self.suffixes where host.utf8.count > entry.suffix.utf8.count
            && host.utf8.reversed().starts(with: entry.suffix.utf8.reversed()) {
            return entry.host
        }
        for entry in self.prefixes where host.utf8.count > entry.prefix.utf8.count && host.utf8.starts(with: entry.prefix.utf8) {
            return entry.host
        }
        return self.wildcard
    }

    /// The decision for a request, or nil when no virtual host or no route matches (Envoy: 404, flag NR).
    public func match(_ request: RouteRequest) -> RouteDecision? {
        guard let hostIndex = self.virtualHostIndex(for: request.host) else { return nil }
        let host = self.hosts[hostIndex]
        let path = request.pathWithoutQuery
        for compiled in host.routes where compiled.matches(path: path, request: request) {
            return RouteDecision(request: request, host: host, compiled: compiled)
        }
        return nil
    }

    public static func stripPort(_ host: String) -> String {
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]") { return String(host[...close]) }
            return host
        }
        if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon,
           host[host.index(after: colon)...].allSatisfy(\.isASCIIDigit) {
            return String(host[..<colon])
        }
        return host
    }
}

/// The path, header and query rules of one `RouteMatch`.
public enum RouteMatcher {
    public static func matches(_ match: RouteMatch, path: Substring, request: RouteRequest) -> Bool {
        guard Self.pathMatches(match.path, caseSensitive: match.caseSensitive, path: path) else { return false }
        for header in match.headers where !header.matches(request.values(of: header.name)) { return false }
        if !match.queryParameters.isEmpty {
            let query = request.queryParameters
            for parameter in match.queryParameters where !parameter.matches(query[parameter.name]) { return false }
        }
        return true
    }

    static func pathMatches(_ rule: RouteMatch.PathRule, caseSensitive: Bool, path: Substring) -> Bool {
        switch rule {
        case .prefix(let prefix):
            // Byte comparison: Envoy compares bytes, and Character comparison would cost a grapheme walk.
            return caseSensitive ? path.utf8.starts(with: prefix.utf8) : Self.hasPrefixIgnoringCase(path, prefix)
        case .path(let exact):
            return caseSensitive ? path.utf8.elementsEqual(exact.utf8)
                : path.utf8.count == exact.utf8.count && Self.hasPrefixIgnoringCase(path, exact)
        case .safeRegex(let regex):
            return regex.fullMatch(String(path))
        case .pathSeparatedPrefix(let prefix):
            let matched = caseSensitive ? path.utf8.starts(with: prefix.utf8) : Self.hasPrefixIgnoringCase(path, prefix)
            guard matched else { return false }
            let rest = path.utf8.dropFirst(prefix.utf8.count)
            return rest.isEmpty || rest.first == UInt8(ascii: "/")
        }
    }

    static func hasPrefixIgnoringCase(_ text: Substring, _ prefix: String) -> Bool {
        guard text.utf8.count >= prefix.utf8.count else { return false }
        return zip(text.utf8, prefix.utf8).allSatisfy { Self.lower($0) == Self.lower($1) }
    }

    private static func lower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
}

/// A virtual host held by reference in a compiled table.
final class CompiledVirtualHost: Sendable {
    let host: VirtualHost
    let index: Int
    let routes: [CompiledRoute]

    init(_ host: VirtualHost, index: Int, configuration: RouteConfiguration) {
        self.host = host
        self.index = index
        self.routes = host.routes.enumerated().map {
            CompiledRoute(route: $0.element, index: $0.offset, host: host, configuration: configuration)
        }
    }
}

/// A route held by reference in a compiled table, with what matching and rewriting read kept at hand.
final class CompiledRoute: Sendable {
    let route: Route
    let index: Int
    let match: RouteMatch
    let hostRewrite: RouteAction.HostRewrite?
    let pathRewrite: RouteAction.PathRewrite?

    /// The match rule's parts, read in place on every request.
    let pathRule: RouteMatch.PathRule
    let caseSensitive: Bool
    let hasHeaderOrQueryRules: Bool
    /// What forwarding reads per request; nil for direct responses and redirects.
    let plan: ForwardingPlan?

    init(route: Route, index: Int, host: VirtualHost, configuration: RouteConfiguration) {
        self.route = route
        self.index = index
        self.match = route.match
        self.pathRule = route.match.path
        self.caseSensitive = route.match.caseSensitive
        self.hasHeaderOrQueryRules = !route.match.headers.isEmpty || !route.match.queryParameters.isEmpty
        if case .route(let action) = route.action {
            self.hostRewrite = action.hostRewrite
            self.pathRewrite = action.pathRewrite
            self.plan = ForwardingPlan(action, route: route, host: host, configuration: configuration)
        } else {
            self.hostRewrite = nil
            self.pathRewrite = nil
            self.plan = nil
        }
    }

    func matches(path: Substring, request: RouteRequest) -> Bool {
        guard RouteMatcher.pathMatches(self.pathRule, caseSensitive: self.caseSensitive, path: path) else { return false }
        return !self.hasHeaderOrQueryRules || RouteMatcher.matches(self.match, path: path, request: request)
    }
}
