/// One HTTP filter of the connection manager's chain. The router must be the last one.
public struct HTTPFilter: Sendable, Hashable, Encodable {
    public enum Kind: Sendable, Hashable, Encodable {
        case router
        case registryMirror(RegistryMirrorFilter)
    }

    public var name: String
    public var kind: Kind
    /// True when written the pre-1.22 way, by name without `typed_config`.
    public var legacyUntyped: Bool
    public var source: SourceInfo

    static let legacyRouterNames = ["envoy.filters.http.router", "envoy.router"]

    static func decode(_ reader: NodeReader) -> HTTPFilter? {
        guard let object = reader.object(["name", "typed_config", "config_discovery", "is_optional", "disabled"])
        else { return nil }
        guard let name = object.nonEmptyString("name", required: true) else { return nil }
        if object.has("config_discovery") { object.field("config_discovery")?.error("ECDS is not supported by mirrord") }
        guard let typed = object.field("typed_config") else {
            if Self.legacyRouterNames.contains(name) {
                object.warning("router filter without 'typed_config' is accepted by mirrord; Envoy 1.22+ rejects it. "
                    + "Add typed_config: {\"@type\": \(TypeURL.router)}")
                object.reader.envoyCompat(.error, "Didn't find a registered implementation for '\(name)' with type URL: ''")
                return HTTPFilter(name: name, kind: .router, legacyUntyped: true, source: object.source)
            }
            object.missing("typed_config")
            return nil
        }
        let routerFields = ["dynamic_stats", "start_child_span", "upstream_log", "upstream_log_options",
                            "suppress_envoy_headers", "strict_check_headers", "respect_expected_rq_timeout",
                            "suppress_grpc_request_failure_code_stats", "upstream_http_filters"]
        guard let (url, config) = typed.typedConfig([TypeURL.router, TypeURL.registryMirror],
                                                     fields: routerFields + RegistryMirrorFilter.fields) else { return nil }
        if url == TypeURL.registryMirror {
            for field in routerFields where config.has(field) { config.field(field)?.error("unknown field '\(field)'") }
            return RegistryMirrorFilter.decode(config).map {
                HTTPFilter(name: name, kind: .registryMirror($0), legacyUntyped: false, source: object.source)
            }
        }
        for field in RegistryMirrorFilter.fields where config.has(field) { config.field(field)?.error("unknown field '\(field)'") }
        return HTTPFilter(name: name, kind: .router, legacyUntyped: false, source: object.source)
    }
}
