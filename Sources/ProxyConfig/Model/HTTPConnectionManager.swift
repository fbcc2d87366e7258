/// Envoy's HTTP connection manager: the network filter that turns a connection into routed HTTP requests.
public struct HTTPConnectionManager: Sendable, Hashable, Encodable {
    public enum CodecType: String, EnvoyEnum { case AUTO, HTTP1, HTTP2, HTTP3 }
    public enum ServerHeaderTransformation: String, EnvoyEnum { case OVERWRITE, APPEND_IF_ABSENT, PASS_THROUGH }

    public var statPrefix: String
    public var codecType: CodecType
    public var accessLogs: [AccessLog]
    public var routeConfig: RouteConfiguration
    public var httpFilters: [HTTPFilter]
    public var serverName: String
    public var serverHeaderTransformation: ServerHeaderTransformation
    public var useRemoteAddress: Bool
    public var xffNumTrustedHops: Int
    public var generateRequestID: Bool
    public var preserveExternalRequestID: Bool
    public var alwaysSetRequestIDInResponse: Bool
    public var streamIdleTimeout: EnvoyDuration
    public var requestTimeout: EnvoyDuration
    public var requestHeadersTimeout: EnvoyDuration
    public var drainTimeout: EnvoyDuration
    public var delayedCloseTimeout: EnvoyDuration
    /// Downstream connection idle timeout (`common_http_protocol_options.idle_timeout`).
    public var idleTimeout: EnvoyDuration
    public var maxHeadersCount: Int
    public var maxRequestHeadersKB: Int
    public var normalizePath: Bool
    public var mergeSlashes: Bool
    public var stripMatchingHostPort: Bool
    public var stripAnyHostPort: Bool
    public var source: SourceInfo

    static let fields = [
        "stat_prefix", "codec_type", "route_config", "rds", "scoped_routes", "http_filters", "access_log",
        "server_name", "server_header_transformation", "use_remote_address", "xff_num_trusted_hops",
        "skip_xff_append", "generate_request_id", "preserve_external_request_id",
        "always_set_request_id_in_response", "stream_idle_timeout", "request_timeout", "request_headers_timeout",
        "drain_timeout", "delayed_close_timeout", "common_http_protocol_options", "http_protocol_options",
        "http2_protocol_options", "max_request_headers_kb", "normalize_path", "merge_slashes",
        "strip_matching_host_port", "strip_any_host_port", "path_with_escaped_slashes_action", "tracing",
        "add_user_agent", "via", "upgrade_configs", "internal_address_config", "local_reply_config",
        "access_log_options", "strip_trailing_host_dot", "forward_client_cert_details", "proxy_100_continue",
    ]

    static func decode(_ object: ObjectReader) -> HTTPConnectionManager? {
        for field in ["rds", "scoped_routes", "tracing", "upgrade_configs", "local_reply_config",
                      "forward_client_cert_details"] where object.has(field) {
            object.field(field)?.error(field == "rds"
                ? "RDS is not supported; put the routes inline in 'route_config'"
                : "'\(field)' is not supported by mirrord")
        }
        let statPrefix = object.nonEmptyString("stat_prefix", required: true)
        let codec = object.enumeration("codec_type", default: CodecType.AUTO)
        if codec == .HTTP3 { object.field("codec_type")?.error("HTTP3 is not supported by mirrord") }
        let routeConfig = object.object("route_config", fields: RouteConfiguration.fields,
                                        required: !object.has("rds"), RouteConfiguration.decode)
        let filters = object.list("http_filters", required: true, HTTPFilter.decode)
        let protocolOptions = object.object("common_http_protocol_options", fields: [
            "idle_timeout", "max_connection_duration", "max_headers_count", "max_stream_duration",
            "headers_with_underscores_action", "max_requests_per_connection", "max_response_headers_kb",
        ]) { options in
            (options.duration("idle_timeout", default: .seconds(3600)),
             Int(options.integer("max_headers_count", in: 1...Int64(UInt32.max), default: 100)))
        }
        if object.has("http_protocol_options") {
            _ = object.field("http_protocol_options")?.object([
                "allow_absolute_url", "accept_http_10", "default_host_for_http_10", "header_key_format",
                "enable_trailers", "allow_chunked_length", "override_stream_error_on_invalid_http_message",
                "send_fully_qualified_url", "ignore_http_11_upgrade",
            ])
        }
        guard let statPrefix, let routeConfig else { return nil }
        return HTTPConnectionManager(
            statPrefix: statPrefix, codecType: codec,
            accessLogs: object.list("access_log", AccessLog.decode), routeConfig: routeConfig,
            httpFilters: filters, serverName: object.headerValue("server_name") ?? "envoy",
            serverHeaderTransformation: object.enumeration("server_header_transformation",
                                                           default: ServerHeaderTransformation.OVERWRITE),
            useRemoteAddress: object.bool("use_remote_address", default: false),
            xffNumTrustedHops: Int(object.integer("xff_num_trusted_hops", in: 0...Int64(UInt32.max), default: 0)),
            generateRequestID: object.bool("generate_request_id", default: true),
            preserveExternalRequestID: object.bool("preserve_external_request_id", default: false),
            alwaysSetRequestIDInResponse: object.bool("always_set_request_id_in_response", default: false),
            streamIdleTimeout: object.duration("stream_idle_timeout", default: .seconds(300)),
            requestTimeout: object.duration("request_timeout", default: .zero),
            requestHeadersTimeout: object.duration("request_headers_timeout", default: .zero),
            drainTimeout: object.duration("drain_timeout", default: .seconds(5)),
            delayedCloseTimeout: object.duration("delayed_close_timeout", default: .seconds(1)),
            idleTimeout: protocolOptions?.0 ?? .seconds(3600),
            maxHeadersCount: protocolOptions?.1 ?? 100,
            maxRequestHeadersKB: Int(object.integer("max_request_headers_kb", in: 1...8192, default: 60)),
            normalizePath: object.bool("normalize_path", default: false),
            mergeSlashes: object.bool("merge_slashes", default: false),
            stripMatchingHostPort: object.bool("strip_matching_host_port", default: false),
            stripAnyHostPort: object.bool("strip_any_host_port", default: false),
            source: object.source)
    }
}
