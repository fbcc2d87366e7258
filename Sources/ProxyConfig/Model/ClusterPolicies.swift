/// Circuit-breaker limits of one priority; Envoy's defaults are 1024/1024/1024/3.
public struct CircuitBreakerThresholds: Sendable, Hashable, Encodable {
    public enum Priority: String, EnvoyEnum { case DEFAULT, HIGH }

    public var priority: Priority
    public var maxConnections: Int
    public var maxPendingRequests: Int
    public var maxRequests: Int
    public var maxRetries: Int
    public var source: SourceInfo

    public static let defaults = CircuitBreakerThresholds(
        priority: .DEFAULT, maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3,
        source: .unknown)

    static func decode(_ reader: NodeReader) -> CircuitBreakerThresholds? {
        guard let object = reader.object(["priority", "max_connections", "max_pending_requests", "max_requests",
                                          "max_retries", "retry_budget", "track_remaining", "max_connection_pools"])
        else { return nil }
        if object.has("retry_budget") { object.field("retry_budget")?.error("'retry_budget' is not supported by mirrord") }
        let range: ClosedRange<Int64> = 0...Int64(UInt32.max)
        return CircuitBreakerThresholds(
            priority: object.enumeration("priority", default: Priority.DEFAULT),
            maxConnections: Int(object.integer("max_connections", in: range, default: 1024)),
            maxPendingRequests: Int(object.integer("max_pending_requests", in: range, default: 1024)),
            maxRequests: Int(object.integer("max_requests", in: range, default: 1024)),
            maxRetries: Int(object.integer("max_retries", in: range, default: 3)),
            source: object.source)
    }
}

/// An active HTTP or TCP health check. Envoy requires the four timing fields.
public struct HealthCheck: Sendable, Hashable, Encodable {
    public enum Kind: Sendable, Hashable, Encodable {
        case http(path: String, host: String?, expectedStatuses: [ClosedRange<Int>])
        case tcp
    }

    public var timeout: EnvoyDuration
    public var interval: EnvoyDuration
    public var unhealthyThreshold: Int
    public var healthyThreshold: Int
    public var kind: Kind
    public var source: SourceInfo

    static func decode(_ reader: NodeReader) -> HealthCheck? {
        guard let object = reader.object([
            "timeout", "interval", "initial_jitter", "interval_jitter", "interval_jitter_percent",
            "unhealthy_threshold", "healthy_threshold", "alt_port", "reuse_connection", "http_health_check",
            "tcp_health_check", "grpc_health_check", "custom_health_check", "no_traffic_interval",
            "no_traffic_healthy_interval", "unhealthy_interval", "unhealthy_edge_interval", "healthy_edge_interval",
            "event_log_path", "event_logger", "always_log_health_check_failures", "always_log_health_check_success",
            "tls_options", "transport_socket_match_criteria",
        ]) else { return nil }
        let timeout = object.optionalDuration("timeout", required: true)
        let interval = object.optionalDuration("interval", required: true)
        let unhealthy = object.optionalInteger("unhealthy_threshold", in: 0...Int64(UInt32.max), required: true)
        let healthy = object.optionalInteger("healthy_threshold", in: 0...Int64(UInt32.max), required: true)
        var kind: Kind?
        switch object.oneOf(["http_health_check", "tcp_health_check", "grpc_health_check", "custom_health_check"],
                            required: true) {
        case "http_health_check":
            kind = object.object("http_health_check", fields: [
                "host", "path", "send", "receive", "request_headers_to_add", "request_headers_to_remove",
                "expected_statuses", "retriable_statuses", "codec_client_type", "service_name_matcher", "method",
            ]) { http -> Kind? in
                guard let path = http.nonEmptyString("path", required: true) else { return nil }
                let statuses = http.list("expected_statuses") { range -> ClosedRange<Int>? in
                    guard let bounds = range.object(["start", "end"]),
                          let start = bounds.optionalInteger("start", in: 100...599, required: true),
                          let end = bounds.optionalInteger("end", in: 101...600, required: true) else { return nil }
                    guard start < end else { range.error("start must be below end"); return nil }
                    return Int(start)...Int(end - 1)
                }
                return .http(path: path, host: http.string("host"), expectedStatuses: statuses.isEmpty ? [200...200] : statuses)
            }
        case "tcp_health_check":
            kind = .tcp
        case let other?:
            object.field(other)?.error("'\(other)' is not supported by mirrord; use http_health_check or tcp_health_check")
        default: break
        }
        guard let timeout, let interval, let unhealthy, let healthy, let kind else { return nil }
        return HealthCheck(timeout: timeout, interval: interval, unhealthyThreshold: Int(unhealthy),
                           healthyThreshold: Int(healthy), kind: kind, source: object.source)
    }
}

/// Passive outlier detection; only active when configured, with Envoy's defaults.
public struct OutlierDetection: Sendable, Hashable, Encodable {
    public var consecutive5xx: Int
    public var consecutiveGatewayFailure: Int
    public var interval: EnvoyDuration
    public var baseEjectionTime: EnvoyDuration
    public var maxEjectionTime: EnvoyDuration
    public var maxEjectionPercent: Int
    public var source: SourceInfo

    static let fields = [
        "consecutive_5xx", "interval", "base_ejection_time", "max_ejection_percent", "enforcing_consecutive_5xx",
        "enforcing_success_rate", "success_rate_minimum_hosts", "success_rate_request_volume",
        "success_rate_stdev_factor", "consecutive_gateway_failure", "enforcing_consecutive_gateway_failure",
        "split_external_local_origin_errors", "consecutive_local_origin_failure",
        "enforcing_consecutive_local_origin_failure", "enforcing_local_origin_success_rate",
        "failure_percentage_threshold", "enforcing_failure_percentage", "enforcing_failure_percentage_local_origin",
        "failure_percentage_minimum_hosts", "failure_percentage_request_volume", "max_ejection_time",
        "max_ejection_time_jitter", "successful_active_health_check_uneject_host", "monitors",
        "always_eject_one_host", "detect_degraded_hosts",
    ]

    static func decode(_ object: ObjectReader) -> OutlierDetection {
        let range: ClosedRange<Int64> = 0...Int64(UInt32.max)
        return OutlierDetection(
            consecutive5xx: Int(object.integer("consecutive_5xx", in: range, default: 5)),
            consecutiveGatewayFailure: Int(object.integer("consecutive_gateway_failure", in: range, default: 5)),
            interval: object.duration("interval", default: .seconds(10)),
            baseEjectionTime: object.duration("base_ejection_time", default: .seconds(30)),
            maxEjectionTime: object.duration("max_ejection_time", default: .seconds(300)),
            maxEjectionPercent: Int(object.integer("max_ejection_percent", in: 0...100, default: 10)),
            source: object.source)
    }
}

/// Envoy `upstreams.http.v3.HttpProtocolOptions`, from `typed_extension_protocol_options`.
public struct HTTPProtocolOptions: Sendable, Hashable, Encodable {
    public enum UpstreamProtocol: String, Sendable, Hashable, Encodable { case http1, http2, auto, downstream }

    public var upstreamProtocol: UpstreamProtocol
    public var idleTimeout: EnvoyDuration
    public var maxRequestsPerConnection: Int?
    public var autoSNI: Bool
    public var autoSANValidation: Bool

    static let fields = ["common_http_protocol_options", "upstream_http_protocol_options", "explicit_http_config",
                         "use_downstream_protocol_config", "auto_config", "http_filters", "header_validation_config",
                         "outlier_detection"]

    static func decode(_ object: ObjectReader) -> HTTPProtocolOptions {
        var upstream = UpstreamProtocol.http1
        switch object.oneOf(["explicit_http_config", "use_downstream_protocol_config", "auto_config"]) {
        case "explicit_http_config":
            _ = object.object("explicit_http_config", fields: ["http_protocol_options", "http2_protocol_options",
                                                               "http3_protocol_options"]) { explicit -> Bool in
                switch explicit.oneOf(["http_protocol_options", "http2_protocol_options", "http3_protocol_options"], required: true) {
                case "http2_protocol_options": upstream = .http2
                case "http3_protocol_options": explicit.field("http3_protocol_options")?.error("HTTP/3 upstreams are not supported")
                default: upstream = .http1
                }
                return true
            }
        case "use_downstream_protocol_config": upstream = .downstream
        case "auto_config": upstream = .auto
        default: break
        }
        for field in ["http_filters", "header_validation_config", "outlier_detection"] where object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord")
        }
        let common = object.object("common_http_protocol_options", fields: [
            "idle_timeout", "max_connection_duration", "max_headers_count", "max_stream_duration",
            "headers_with_underscores_action", "max_requests_per_connection", "max_response_headers_kb",
        ]) { common in
            (common.duration("idle_timeout", default: .seconds(3600)),
             common.optionalInteger("max_requests_per_connection", in: 1...Int64(UInt32.max)).map(Int.init))
        }
        let sni = object.object("upstream_http_protocol_options", fields: [
            "auto_sni", "auto_san_validation", "override_auto_sni_header",
        ]) { ($0.bool("auto_sni", default: false), $0.bool("auto_san_validation", default: false)) }
        return HTTPProtocolOptions(upstreamProtocol: upstream, idleTimeout: common?.0 ?? .seconds(3600),
                                   maxRequestsPerConnection: common?.1 ?? nil, autoSNI: sni?.0 ?? false,
                                   autoSANValidation: sni?.1 ?? false)
    }
}
