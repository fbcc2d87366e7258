/// The bootstrap file (`mirrord -c envoy.yaml`): node, admin, static resources and where dynamic ones live.
public struct Bootstrap: Sendable, Hashable, Encodable {
    public struct NodeIdentity: Sendable, Hashable, Encodable {
        public var id: String?
        public var cluster: String?
    }

    public var node: NodeIdentity?
    public var admin: Admin?
    public var staticListeners: [Listener]
    public var staticClusters: [Cluster]
    public var lds: ConfigSource?
    public var cds: ConfigSource?
    public var source: SourceInfo

    static let fields = [
        "node", "node_context_params", "static_resources", "dynamic_resources", "cluster_manager", "hds_config",
        "flags_path", "stats_sinks", "stats_config", "stats_flush_interval", "watchdog", "watchdogs", "tracing",
        "layered_runtime", "admin", "overload_manager", "enable_dispatcher_stats", "header_prefix",
        "stats_server_version_override", "use_tcp_for_dns_lookups", "dns_resolution_config",
        "typed_dns_resolver_config", "bootstrap_extensions", "fatal_actions", "config_sources",
        "default_config_source", "default_socket_interface", "certificate_provider_instances",
        "inline_headers", "perf_tracing_file_path", "default_regex_engine", "xds_delegate_extension",
        "xds_config_tracker_extension", "listener_manager", "application_log_config",
        "grpc_async_client_manager_config", "memory_allocator_manager",
    ]

    static let ignored = ["cluster_manager", "stats_config", "stats_flush_interval", "watchdog", "watchdogs",
                          "layered_runtime", "overload_manager", "enable_dispatcher_stats", "header_prefix",
                          "stats_server_version_override", "default_regex_engine", "inline_headers",
                          "application_log_config", "fatal_actions", "node_context_params", "memory_allocator_manager"]

    static func decode(_ object: ObjectReader) -> Bootstrap {
        for field in Self.fields where !Self.ignored.contains(field)
            && !["node", "static_resources", "dynamic_resources", "admin"].contains(field) && object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord")
        }
        for field in Self.ignored where object.has(field) {
            object.field(field)?.warning("'\(field)' is accepted but has no effect in mirrord")
        }
        let node = object.object("node", fields: ["id", "cluster", "metadata", "locality", "user_agent_name",
                                                  "user_agent_version", "user_agent_build_version", "extensions",
                                                  "client_features", "listening_addresses", "dynamic_parameters"]) {
            NodeIdentity(id: $0.string("id"), cluster: $0.string("cluster"))
        }
        let statics = object.object("static_resources", fields: ["listeners", "clusters", "secrets"]) { resources in
            if resources.has("secrets") { resources.field("secrets")?.error("static secrets are not supported; use DataSource files") }
            return (resources.list("listeners", Listener.decode), resources.list("clusters", Cluster.decode))
        }
        let dynamic = object.object("dynamic_resources", fields: ["lds_config", "lds_resources_locator", "cds_config",
                                                                  "cds_resources_locator", "ads_config"]) { dynamic in
            for field in ["lds_resources_locator", "cds_resources_locator", "ads_config"] where dynamic.has(field) {
                dynamic.field(field)?.error("'\(field)' is not supported; mirrord reads LDS and CDS from files")
            }
            return (dynamic.object("lds_config", fields: ConfigSource.fields, ConfigSource.decode),
                    dynamic.object("cds_config", fields: ConfigSource.fields, ConfigSource.decode))
        }
        return Bootstrap(node: node, admin: object.object("admin", fields: Admin.fields, Admin.decode),
                         staticListeners: statics?.0 ?? [], staticClusters: statics?.1 ?? [],
                         lds: dynamic?.0 ?? nil, cds: dynamic?.1 ?? nil, source: object.source)
    }
}

/// The admin endpoint's address and access log.
public struct Admin: Sendable, Hashable, Encodable {
    public var address: SocketAddress?
    public var accessLogs: [AccessLog]
    public var source: SourceInfo

    static let fields = ["access_log", "access_log_path", "profile_path", "address", "socket_options",
                         "ignore_global_conn_limit", "allow_paths"]

    static func decode(_ object: ObjectReader) -> Admin {
        var logs = object.list("access_log", AccessLog.decode)
        if let path = object.string("access_log_path") {
            object.field("access_log_path")?.deprecated("access_log_path", of: "envoy.config.bootstrap.v3.Admin", "use 'access_log'")
            if !path.isEmpty { logs.append(AccessLog(name: "envoy.access_loggers.file", path: path, source: object.source)) }
        }
        for field in ["profile_path", "socket_options", "ignore_global_conn_limit", "allow_paths"] where object.has(field) {
            object.field(field)?.warning("'\(field)' is accepted but has no effect in mirrord")
        }
        let address = object.field("address").flatMap { SocketAddress.decode($0, allowZeroPort: true) }
        if let address, !IPAddress.isLoopback(address.address) {
            object.field("address")?.warning("admin listens on \(address) with no authentication; anyone who reaches it can stop or reconfigure mirrord. Bind it to 127.0.0.1")
        }
        return Admin(address: address, accessLogs: logs, source: object.source)
    }
}

/// Where an LDS or CDS file lives (Envoy `ConfigSource` with `path` or `path_config_source`).
public struct ConfigSource: Sendable, Hashable, Encodable {
    public var path: String
    public var watchedDirectory: String?
    /// True when written with the deprecated `path` field.
    public var legacyPath: Bool
    /// Where the path itself is written, for "does not exist" errors.
    public var pathLocation: SourceLocation
    public var source: SourceInfo

    static let fields = ["path", "path_config_source", "api_config_source", "ads", "self", "resource_api_version",
                         "initial_fetch_timeout", "authorities"]

    static func decode(_ object: ObjectReader) -> ConfigSource? {
        for field in ["api_config_source", "ads", "self", "authorities"] where object.has(field) {
            object.field(field)?.error("'\(field)' needs a control plane; mirrord reads LDS and CDS from files (use path_config_source)")
        }
        if object.has("resource_api_version"), object.string("resource_api_version")?.uppercased() != "V3" {
            object.field("resource_api_version")?.error("only resource_api_version V3 is supported")
        }
        switch object.oneOf(["path", "path_config_source", "api_config_source", "ads", "self"], required: true) {
        case "path":
            object.field("path")?.deprecated("path", of: "envoy.config.core.v3.ConfigSource", "use 'path_config_source: {path: ...}'")
            let location = object.field("path")?.location ?? object.location
            return object.nonEmptyString("path").map {
                ConfigSource(path: $0, watchedDirectory: nil, legacyPath: true, pathLocation: location, source: object.source)
            }
        case "path_config_source":
            return object.object("path_config_source", fields: ["path", "watched_directory"]) { config in
                guard let path = config.nonEmptyString("path", required: true) else { return nil }
                let watched = config.object("watched_directory", fields: ["path"]) { $0.nonEmptyString("path", required: true) }
                return ConfigSource(path: path, watchedDirectory: watched ?? nil, legacyPath: false,
                                    pathLocation: config.field("path")?.location ?? config.location, source: object.source)
            }
        default: return nil
        }
    }
}
