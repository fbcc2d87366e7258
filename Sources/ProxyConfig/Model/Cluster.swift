/// An upstream cluster as configured (Envoy `config.cluster.v3.Cluster`).
public struct Cluster: Sendable, Hashable, Encodable {
    public enum Discovery: String, EnvoyEnum { case STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST }
    public enum DNSLookupFamily: String, EnvoyEnum { case AUTO, V4_ONLY, V6_ONLY, V4_PREFERRED, ALL }
    public enum LoadBalancingPolicy: String, EnvoyEnum {
        case ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG
    }

    public var name: String
    public var discovery: Discovery
    public var connectTimeout: EnvoyDuration
    public var dnsLookupFamily: DNSLookupFamily
    /// Legacy `dns_resolvers`: nameservers to ask instead of the system's.
    public var dnsResolvers: [SocketAddress]
    public var dnsRefreshRate: EnvoyDuration
    public var respectDNSTTL: Bool
    public var lbPolicy: LoadBalancingPolicy
    public var endpoints: [LocalityEndpoints]
    public var tls: UpstreamTLS?
    public var circuitBreakers: [CircuitBreakerThresholds]
    public var healthChecks: [HealthCheck]
    public var outlierDetection: OutlierDetection?
    public var protocolOptions: HTTPProtocolOptions?
    /// mirrord's own per-upstream options (`typed_extension_protocol_options` key `mirrord.upstream`).
    public var mirrordOptions: UpstreamOptions?
    /// Extensions by name other than Envoy's HTTP protocol options, kept for mirrord's own filters.
    public var extensionOptions: [String: OpaqueValue]
    public var perConnectionBufferLimitBytes: Int
    public var source: SourceInfo

    /// Every endpoint address, in configuration order.
    public var allEndpoints: [Endpoint] { self.endpoints.flatMap(\.endpoints) }

    static let fields = [
        "name", "alt_stat_name", "type", "cluster_type", "eds_cluster_config", "connect_timeout",
        "per_connection_buffer_limit_bytes", "lb_policy", "load_assignment", "health_checks",
        "max_requests_per_connection", "circuit_breakers", "upstream_http_protocol_options",
        "common_http_protocol_options", "http_protocol_options", "http2_protocol_options",
        "typed_extension_protocol_options", "dns_refresh_rate", "dns_failure_refresh_rate", "respect_dns_ttl",
        "dns_lookup_family", "dns_resolvers", "use_tcp_for_dns_lookups", "dns_resolution_config",
        "typed_dns_resolver_config", "wait_for_warm_on_init", "outlier_detection", "cleanup_interval",
        "upstream_bind_config", "lb_subset_config", "ring_hash_lb_config", "maglev_lb_config",
        "original_dst_lb_config", "least_request_lb_config", "round_robin_lb_config", "common_lb_config",
        "transport_socket", "transport_socket_matches", "metadata", "protocol_selection",
        "upstream_connection_options", "close_connections_on_host_health_failure",
        "ignore_health_on_host_removal", "filters", "load_balancing_policy", "track_cluster_stats",
        "preconnect_policy", "connection_pool_per_downstream_connection", "dns_jitter",
    ]

    static let unsupported = [
        "cluster_type", "eds_cluster_config", "lb_subset_config", "ring_hash_lb_config", "maglev_lb_config",
        "original_dst_lb_config", "transport_socket_matches", "upstream_bind_config", "filters",
        "load_balancing_policy", "dns_resolution_config", "typed_dns_resolver_config", "use_tcp_for_dns_lookups",
        "upstream_http_protocol_options", "common_http_protocol_options", "http_protocol_options",
        "protocol_selection",
    ]

    static func decode(_ reader: NodeReader) -> Cluster? {
        guard let object = reader.object(Self.fields) else { return nil }
        for field in Self.unsupported where object.has(field) {
            let legacy = ["upstream_http_protocol_options", "common_http_protocol_options", "http_protocol_options"]
            object.field(field)?.error(legacy.contains(field)
                ? "'\(field)' is deprecated and not supported; use typed_extension_protocol_options with HttpProtocolOptions"
                : "'\(field)' is not supported by mirrord")
        }
        let name = object.nonEmptyString("name", required: true)
        let discovery = object.enumeration("type", default: Discovery.STATIC)
        if discovery == .EDS || discovery == .ORIGINAL_DST {
            object.field("type")?.error("cluster type \(discovery.rawValue) is not supported; use STATIC, STRICT_DNS or LOGICAL_DNS")
        }
        let policy = object.enumeration("lb_policy", default: LoadBalancingPolicy.ROUND_ROBIN)
        if ![.ROUND_ROBIN, .LEAST_REQUEST, .RANDOM].contains(policy) {
            object.field("lb_policy")?.error("lb_policy \(policy.rawValue) is not supported; use ROUND_ROBIN, LEAST_REQUEST or RANDOM")
        }
        let resolvers = object.list("dns_resolvers") { SocketAddress.decode($0, allowZeroPort: false) }
        if object.has("dns_resolvers") {
            object.field("dns_resolvers")?.deprecated("dns_resolvers", of: "envoy.config.cluster.v3.Cluster",
                                                      "Envoy wants typed_dns_resolver_config; mirrord honours it")
        }
        let endpoints = object.object("load_assignment", fields: ["cluster_name", "endpoints", "named_endpoints", "policy"]) {
            assignment -> [LocalityEndpoints] in
            if assignment.has("named_endpoints") { assignment.field("named_endpoints")?.error("'named_endpoints' is not supported") }
            if assignment.has("policy") { assignment.field("policy")?.warning("'policy' is accepted but has no effect in mirrord") }
            return assignment.list("endpoints") { LocalityEndpoints.decode($0, discovery: discovery) }
        } ?? []
        var protocolOptions: HTTPProtocolOptions?
        var mirrordOptions: UpstreamOptions?
        var extensionOptions: [String: OpaqueValue] = [:]
        for (key, value) in object.field("typed_extension_protocol_options")?.entries() ?? [] {
            if key == "envoy.extensions.upstreams.http.v3.HttpProtocolOptions" {
                protocolOptions = value.typedConfig([TypeURL.httpProtocolOptions], fields: HTTPProtocolOptions.fields)
                    .map { HTTPProtocolOptions.decode($0.object) }
            } else if key == UpstreamOptions.extensionName {
                mirrordOptions = value.typedConfig([TypeURL.mirrordUpstreamOptions], fields: UpstreamOptions.fields)
                    .map { UpstreamOptions.decode($0.object) }
            } else {
                value.error("unknown protocol options extension '\(key)'; mirrord knows envoy.extensions.upstreams.http.v3.HttpProtocolOptions and \(UpstreamOptions.extensionName)")
                extensionOptions[key] = value.opaque()
            }
        }
        if object.has("http2_protocol_options") {
            object.field("http2_protocol_options")?.deprecated("http2_protocol_options", of: "envoy.config.cluster.v3.Cluster",
                                                               "use typed_extension_protocol_options")
            if protocolOptions == nil { protocolOptions = HTTPProtocolOptions(upstreamProtocol: .http2, idleTimeout: .seconds(3600), maxRequestsPerConnection: nil, autoSNI: false, autoSANValidation: false) }
        }
        for ignored in ["alt_stat_name", "dns_failure_refresh_rate", "wait_for_warm_on_init", "cleanup_interval",
                        "common_lb_config", "least_request_lb_config", "round_robin_lb_config", "metadata",
                        "upstream_connection_options", "close_connections_on_host_health_failure",
                        "ignore_health_on_host_removal", "track_cluster_stats", "preconnect_policy",
                        "connection_pool_per_downstream_connection", "dns_jitter", "max_requests_per_connection"]
        where object.has(ignored) {
            object.field(ignored)?.warning("'\(ignored)' is accepted but has no effect in mirrord")
        }
        let tls = object.field("transport_socket").flatMap(UpstreamTLS.decodeSocket)
        let breakers = object.object("circuit_breakers", fields: ["thresholds", "per_host_thresholds"]) {
            $0.list("thresholds", CircuitBreakerThresholds.decode)
        } ?? []
        guard let name else { return nil }
        return Cluster(
            name: name, discovery: discovery,
            connectTimeout: object.duration("connect_timeout", default: .seconds(5)),
            dnsLookupFamily: object.enumeration("dns_lookup_family", default: DNSLookupFamily.AUTO),
            dnsResolvers: resolvers,
            dnsRefreshRate: object.duration("dns_refresh_rate", default: .seconds(5)),
            respectDNSTTL: object.bool("respect_dns_ttl", default: false), lbPolicy: policy,
            endpoints: endpoints, tls: tls, circuitBreakers: breakers,
            healthChecks: object.list("health_checks", HealthCheck.decode),
            outlierDetection: object.object("outlier_detection", fields: OutlierDetection.fields, OutlierDetection.decode),
            protocolOptions: protocolOptions, mirrordOptions: mirrordOptions, extensionOptions: extensionOptions,
            perConnectionBufferLimitBytes: Int(object.integer("per_connection_buffer_limit_bytes",
                                                              in: 1...Int64(UInt32.max), default: 1 << 20)),
            source: object.source)
    }
}

/// Endpoints of one locality (`LocalityLbEndpoints`).
public struct LocalityEndpoints: Sendable, Hashable, Encodable {
    public var endpoints: [Endpoint]
    public var priority: Int
    public var weight: Int?

    static func decode(_ reader: NodeReader, discovery: Cluster.Discovery) -> LocalityEndpoints? {
        guard let object = reader.object(["locality", "lb_endpoints", "leds_cluster_locality_config",
                                          "load_balancing_weight", "priority", "proximity", "metadata"]) else { return nil }
        if object.has("leds_cluster_locality_config") { object.field("leds_cluster_locality_config")?.error("LEDS is not supported") }
        let endpoints = object.list("lb_endpoints") { reader -> Endpoint? in
            guard let entry = reader.object(["endpoint", "endpoint_name", "health_status", "metadata",
                                             "load_balancing_weight"]) else { return nil }
            let weight = entry.optionalInteger("load_balancing_weight", in: 1...Int64(UInt32.max)).map(Int.init)
            return entry.object("endpoint", fields: ["address", "health_check_config", "hostname", "additional_addresses"],
                                required: true) { endpoint -> Endpoint? in
                guard let address = endpoint.field("address").flatMap({ SocketAddress.decode($0, allowZeroPort: false) }) else {
                    if !endpoint.has("address") { endpoint.missing("address") }
                    return nil
                }
                if discovery == .STATIC, !address.isIPLiteral {
                    endpoint.field("address")?.error("STATIC clusters need IP addresses; '\(address.address)' needs STRICT_DNS or LOGICAL_DNS")
                }
                return Endpoint(address: address, hostname: endpoint.string("hostname"), weight: weight)
            }
        }
        return LocalityEndpoints(endpoints: endpoints,
                                 priority: Int(object.integer("priority", in: 0...127, default: 0)),
                                 weight: object.optionalInteger("load_balancing_weight", in: 1...Int64(UInt32.max)).map(Int.init))
    }
}

/// One upstream host of a cluster.
public struct Endpoint: Sendable, Hashable, Encodable {
    public var address: SocketAddress
    public var hostname: String?
    public var weight: Int?
}
