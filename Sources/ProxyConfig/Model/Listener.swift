/// A listener as configured (Envoy `config.listener.v3.Listener`): an address and its filter chains.
public struct Listener: Sendable, Hashable, Encodable {
    public enum DrainType: String, EnvoyEnum { case DEFAULT, MODIFY_ONLY }

    public var name: String
    public var address: SocketAddress
    public var filterChains: [FilterChain]
    public var defaultFilterChain: FilterChain?
    public var perConnectionBufferLimitBytes: Int
    public var statPrefix: String?
    public var drainType: DrainType
    public var usesTLSInspector: Bool
    public var source: SourceInfo

    static let fields = [
        "name", "address", "additional_addresses", "stat_prefix", "filter_chains", "filter_chain_matcher",
        "default_filter_chain", "use_original_dst", "per_connection_buffer_limit_bytes", "metadata", "drain_type",
        "listener_filters", "listener_filters_timeout", "continue_on_listener_filters_timeout", "transparent",
        "freebind", "socket_options", "tcp_fast_open_queue_length", "traffic_direction", "udp_listener_config",
        "api_listener", "connection_balance_config", "reuse_port", "enable_reuse_port", "access_log",
        "tcp_backlog_size", "bind_to_port", "enable_mptcp", "ignore_global_conn_limit", "max_connections_to_accept_per_socket_event",
    ]

    static let unsupported = [
        "additional_addresses", "filter_chain_matcher", "use_original_dst", "transparent", "freebind",
        "socket_options", "udp_listener_config", "api_listener", "connection_balance_config", "enable_mptcp",
    ]

    static func decode(_ reader: NodeReader) -> Listener? {
        guard let object = reader.object(Self.fields) else { return nil }
        for field in Self.unsupported where object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord")
        }
        for field in ["listener_filters_timeout", "continue_on_listener_filters_timeout", "tcp_fast_open_queue_length",
                      "traffic_direction", "reuse_port", "enable_reuse_port", "access_log", "tcp_backlog_size",
                      "bind_to_port", "ignore_global_conn_limit", "max_connections_to_accept_per_socket_event",
                      "metadata"] where object.has(field) {
            object.field(field)?.warning("'\(field)' is accepted but has no effect in mirrord")
        }
        let name = object.nonEmptyString("name", required: true)
        let address = object.field("address").flatMap { SocketAddress.decode($0, allowZeroPort: true) }
        if !object.has("address") { object.missing("address") }
        let inspectors = object.list("listener_filters") { filter -> Bool? in
            guard let entry = filter.object(["name", "typed_config", "filter_disabled", "config_discovery"]) else { return nil }
            guard let typed = entry.field("typed_config") else {
                entry.missing("typed_config")
                return nil
            }
            return typed.typedConfig([TypeURL.tlsInspector], fields: ["enable_ja3_fingerprinting", "enable_ja4_fingerprinting",
                                                                     "initial_read_buffer_size"]) != nil
        }
        let chains = object.list("filter_chains", FilterChain.decode)
        let defaultChain = object.field("default_filter_chain").flatMap(FilterChain.decode)
        if chains.isEmpty, defaultChain == nil, !object.has("filter_chains") {
            object.error("a listener needs at least one filter chain")
        }
        guard let name, let address else { return nil }
        return Listener(
            name: name, address: address, filterChains: chains, defaultFilterChain: defaultChain,
            perConnectionBufferLimitBytes: Int(object.integer("per_connection_buffer_limit_bytes",
                                                              in: 1...Int64(UInt32.max), default: 1 << 20)),
            statPrefix: object.string("stat_prefix"),
            drainType: object.enumeration("drain_type", default: DrainType.DEFAULT),
            usesTLSInspector: inspectors.contains(true), source: object.source)
    }

    /// Every filter chain, the default one last.
    public var allFilterChains: [FilterChain] { self.filterChains + (self.defaultFilterChain.map { [$0] } ?? []) }
}

/// A filter chain: which connections it takes (by SNI) and the HTTP connection manager that serves them.
public struct FilterChain: Sendable, Hashable, Encodable {
    public var name: String?
    public var serverNames: [String]
    public var transportProtocol: String?
    public var applicationProtocols: [String]
    public var httpConnectionManager: HTTPConnectionManager?
    public var tls: DownstreamTLS?
    public var source: SourceInfo

    static let fields = ["name", "filter_chain_match", "filters", "transport_socket", "use_proxy_proto", "metadata",
                         "transport_socket_connect_timeout"]
    static let matchFields = ["server_names", "transport_protocol", "application_protocols", "destination_port",
                              "prefix_ranges", "source_prefix_ranges", "source_ports", "direct_source_prefix_ranges",
                              "source_type", "address_suffix", "suffix_len"]

    static func decode(_ reader: NodeReader) -> FilterChain? {
        guard let object = reader.object(Self.fields) else { return nil }
        if object.has("use_proxy_proto") { object.field("use_proxy_proto")?.error("'use_proxy_proto' is not supported") }
        let match = object.object("filter_chain_match", fields: Self.matchFields) { match in
            for field in Self.matchFields.dropFirst(3) where match.has(field) {
                match.field(field)?.error("filter_chain_match.\(field) is not supported by mirrord")
            }
            return (match.strings("server_names").map { $0.lowercased() }, match.string("transport_protocol"),
                    match.strings("application_protocols"))
        }
        var managers: [HTTPConnectionManager] = []
        for filter in object.field("filters")?.list() ?? [] {
            guard let entry = filter.object(["name", "typed_config", "config_discovery"]) else { continue }
            guard let typed = entry.field("typed_config") else {
                entry.missing("typed_config")
                continue
            }
            if let (_, config) = typed.typedConfig([TypeURL.httpConnectionManager], fields: HTTPConnectionManager.fields),
               let manager = HTTPConnectionManager.decode(config) {
                managers.append(manager)
            }
        }
        if !object.has("filters") { object.missing("filters") }
        if managers.count > 1 { object.error("a filter chain may hold only one http_connection_manager") }
        let tls = object.field("transport_socket").flatMap(DownstreamTLS.decode)
        return FilterChain(name: object.string("name"), serverNames: match?.0 ?? [], transportProtocol: match?.1,
                           applicationProtocols: match?.2 ?? [], httpConnectionManager: managers.first, tls: tls,
                           source: object.source)
    }
}

extension Listener {
    /// The listener with every route configuration emptied: two listeners equal this way differ in routes only,
    /// which a reload applies by swapping route tables, without touching sockets or connections.
    public var withoutRoutes: Listener {
        var copy = self
        let empty = RouteConfiguration(name: "", virtualHosts: [], requestHeaders: .init(), responseHeaders: .init(),
                                       validateClusters: true, ignorePortInHostMatching: false,
                                       mostSpecificHeaderMutationsWins: false, maxDirectResponseBodySizeBytes: 4096,
                                       source: .unknown)
        copy.filterChains = copy.filterChains.map { chain in
            var chain = chain
            chain.httpConnectionManager?.routeConfig = empty
            return chain
        }
        if var chain = copy.defaultFilterChain {
            chain.httpConnectionManager?.routeConfig = empty
            copy.defaultFilterChain = chain
        }
        return copy
    }
}
