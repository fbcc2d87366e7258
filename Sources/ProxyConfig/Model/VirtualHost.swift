/// A virtual host: the domains it answers for and its routes, tried in order.
public struct VirtualHost: Sendable, Hashable, Encodable {
    public enum TLSRequirement: String, EnvoyEnum { case NONE, EXTERNAL_ONLY, ALL }

    public var name: String
    /// Lower-cased, as Envoy stores them.
    public var domains: [String]
    public var routes: [Route]
    public var requestHeaders: HeaderMutations
    public var responseHeaders: HeaderMutations
    public var retryPolicy: RetryPolicy?
    public var requireTLS: TLSRequirement
    public var source: SourceInfo

    static let fields = [
        "name", "domains", "routes", "matcher", "require_tls", "virtual_clusters", "rate_limits",
        "request_headers_to_add", "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove",
        "cors", "typed_per_filter_config", "include_request_attempt_count", "include_attempt_count_in_response",
        "retry_policy", "retry_policy_typed_config", "hedge_policy", "per_request_buffer_limit_bytes",
        "request_mirror_policies", "metadata",
    ]

    static func decode(_ reader: NodeReader) -> VirtualHost? {
        guard let object = reader.object(Self.fields) else { return nil }
        for field in ["matcher", "virtual_clusters", "rate_limits", "cors", "hedge_policy", "request_mirror_policies",
                      "retry_policy_typed_config"] where object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord")
        }
        let name = object.nonEmptyString("name", required: true)
        let domains = object.list("domains", required: true) { domain -> String? in
            guard let text = domain.string() else { return nil }
            if text.isEmpty { domain.error("a domain must not be empty"); return nil }
            if text != "*", text.dropFirst().dropLast().contains("*") {
                domain.error("'\(text)': a wildcard may only start or end a domain")
                return nil
            }
            return text.lowercased()
        }
        if object.field("domains")?.list()?.isEmpty == true {
            object.field("domains")?.error("a virtual host needs at least one domain")
        }
        let routes = object.list("routes", Route.decode)
        let retry = object.object("retry_policy", fields: RetryPolicy.fields, RetryPolicy.decode)
        guard let name else { return nil }
        return VirtualHost(
            name: name, domains: domains, routes: routes,
            requestHeaders: object.headerMutations(prefix: "request"),
            responseHeaders: object.headerMutations(prefix: "response"), retryPolicy: retry,
            requireTLS: object.enumeration("require_tls", default: TLSRequirement.NONE), source: object.source)
    }
}

/// Envoy `RouteConfiguration`, inline in the HTTP connection manager.
public struct RouteConfiguration: Sendable, Hashable, Encodable {
    public var name: String
    public var virtualHosts: [VirtualHost]
    public var requestHeaders: HeaderMutations
    public var responseHeaders: HeaderMutations
    /// Envoy's default is true for an inline route configuration: every route's cluster must exist.
    public var validateClusters: Bool
    public var ignorePortInHostMatching: Bool
    public var mostSpecificHeaderMutationsWins: Bool
    public var maxDirectResponseBodySizeBytes: Int
    public var source: SourceInfo

    static let fields = [
        "name", "virtual_hosts", "vhds", "internal_only_headers", "response_headers_to_add",
        "response_headers_to_remove", "request_headers_to_add", "request_headers_to_remove",
        "most_specific_header_mutations_wins", "validate_clusters", "max_direct_response_body_size_bytes",
        "cluster_specifier_plugins", "request_mirror_policies", "ignore_port_in_host_matching",
        "ignore_path_parameters_in_path_matching", "typed_per_filter_config", "metadata", "vhost_header",
    ]

    static func decode(_ object: ObjectReader) -> RouteConfiguration? {
        for field in ["vhds", "cluster_specifier_plugins", "request_mirror_policies", "vhost_header",
                      "internal_only_headers", "ignore_path_parameters_in_path_matching"] where object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord")
        }
        return RouteConfiguration(
            name: object.string("name") ?? "",
            virtualHosts: object.list("virtual_hosts", VirtualHost.decode),
            requestHeaders: object.headerMutations(prefix: "request"),
            responseHeaders: object.headerMutations(prefix: "response"),
            validateClusters: object.bool("validate_clusters", default: true),
            ignorePortInHostMatching: object.bool("ignore_port_in_host_matching", default: false),
            mostSpecificHeaderMutationsWins: object.bool("most_specific_header_mutations_wins", default: false),
            maxDirectResponseBodySizeBytes: Int(object.integer("max_direct_response_body_size_bytes",
                                                               in: 1...Int64(UInt32.max), default: 4096)),
            source: object.source)
    }
}
