import Foundation

/// Where and how a matched request is forwarded (Envoy `RouteAction`).
public struct RouteAction: Sendable, Hashable, Encodable {
    public enum Target: Sendable, Hashable, Encodable {
        case cluster(String)
        case weightedClusters([WeightedCluster])
    }

    public enum HostRewrite: Sendable, Hashable, Encodable {
        case literal(String)
        case auto
    }

    public enum PathRewrite: Sendable, Hashable, Encodable {
        case prefix(String)
        case regex(pattern: RegexPattern, substitution: String)
    }

    public enum NotFoundCode: String, EnvoyEnum {
        case SERVICE_UNAVAILABLE, NOT_FOUND, INTERNAL_SERVER_ERROR
        public var status: Int { [503, 404, 500][Self.allCases.firstIndex(of: self)!] }
    }

    public var target: Target
    public var hostRewrite: HostRewrite?
    public var pathRewrite: PathRewrite?
    /// Envoy's default is 15 s and spans the whole response body; `0s` disables it.
    public var timeout: EnvoyDuration
    public var idleTimeout: EnvoyDuration?
    public var retryPolicy: RetryPolicy?
    public var clusterNotFoundResponseCode: NotFoundCode
    public var internalRedirect: InternalRedirectPolicy?
    public var source: SourceInfo

    /// Every cluster this action can send to.
    public var clusterNames: [String] {
        switch self.target {
        case .cluster(let name): return [name]
        case .weightedClusters(let clusters): return clusters.map(\.name)
        }
    }

    static let fields = [
        "cluster", "cluster_header", "weighted_clusters", "cluster_specifier_plugin", "inline_cluster_specifier_plugin",
        "host_rewrite_literal", "auto_host_rewrite", "host_rewrite_header", "host_rewrite_path_regex",
        "prefix_rewrite", "regex_rewrite", "path_rewrite_policy", "timeout", "idle_timeout", "retry_policy",
        "cluster_not_found_response_code", "internal_redirect_policy", "max_stream_duration", "priority",
        "hash_policy", "request_mirror_policies", "rate_limits", "cors", "upgrade_configs", "append_x_forwarded_host",
    ]

    static let unsupported = [
        "cluster_header", "cluster_specifier_plugin", "inline_cluster_specifier_plugin", "host_rewrite_header",
        "host_rewrite_path_regex", "path_rewrite_policy", "request_mirror_policies", "rate_limits", "cors",
        "upgrade_configs", "hash_policy",
    ]

    static func decode(_ object: ObjectReader) -> RouteAction? {
        for field in Self.unsupported where object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord")
        }
        let target: Target?
        switch object.oneOf(["cluster", "weighted_clusters", "cluster_header", "cluster_specifier_plugin"], required: true) {
        case "cluster": target = object.nonEmptyString("cluster").map(Target.cluster)
        case "weighted_clusters":
            target = object.object("weighted_clusters", fields: ["clusters", "total_weight", "runtime_key_prefix",
                                                                 "header_name", "random_value_specifier"]) {
                WeightedCluster.decodeList($0)
            }.map(Target.weightedClusters)
        default: target = nil
        }
        var hostRewrite: HostRewrite?
        switch object.oneOf(["host_rewrite_literal", "auto_host_rewrite", "host_rewrite_header", "host_rewrite_path_regex"]) {
        case "host_rewrite_literal": hostRewrite = object.headerValue("host_rewrite_literal", nonEmpty: true).map(HostRewrite.literal)
        case "auto_host_rewrite": hostRewrite = object.optionalBool("auto_host_rewrite") == true ? .auto : nil
        default: break
        }
        var pathRewrite: PathRewrite?
        switch object.oneOf(["prefix_rewrite", "regex_rewrite", "path_rewrite_policy"]) {
        case "prefix_rewrite": pathRewrite = object.pathValue("prefix_rewrite").map(PathRewrite.prefix)
        case "regex_rewrite":
            pathRewrite = object.object("regex_rewrite", fields: ["pattern", "substitution"]) { rewrite in
                guard let pattern = rewrite.field("pattern")?.regexMatcher() else {
                    if !rewrite.has("pattern") { rewrite.missing("pattern") }
                    return nil
                }
                guard let substitution = rewrite.pathValue("substitution", required: true) else { return nil }
                return .regex(pattern: pattern, substitution: substitution)
            }
        default: break
        }
        let timeout = object.duration("timeout", default: .seconds(15))
        let idle = object.optionalDuration("idle_timeout")
        let retry = object.object("retry_policy", fields: RetryPolicy.fields, RetryPolicy.decode)
        let notFound = object.enumeration("cluster_not_found_response_code", default: NotFoundCode.SERVICE_UNAVAILABLE)
        let redirect = object.object("internal_redirect_policy", fields: InternalRedirectPolicy.fields,
                                     InternalRedirectPolicy.decode)
        for ignored in ["max_stream_duration", "priority", "append_x_forwarded_host"] where object.has(ignored) {
            object.field(ignored)?.warning("'\(ignored)' is accepted but has no effect in mirrord yet")
        }
        guard let target else { return nil }
        return RouteAction(target: target, hostRewrite: hostRewrite, pathRewrite: pathRewrite, timeout: timeout,
                           idleTimeout: idle, retryPolicy: retry, clusterNotFoundResponseCode: notFound,
                           internalRedirect: redirect, source: object.source)
    }
}

/// One entry of `weighted_clusters.clusters`.
public struct WeightedCluster: Sendable, Hashable, Encodable {
    public var name: String
    public var weight: Int
    public var hostRewriteLiteral: String?
    public var requestHeaders: HeaderMutations
    public var responseHeaders: HeaderMutations
    public var source: SourceInfo

    static func decodeList(_ object: ObjectReader) -> [WeightedCluster]? {
        if object.has("total_weight") {
            object.field("total_weight")?.deprecated("total_weight", of: "envoy.config.route.v3.WeightedCluster",
                                                     "weights are relative")
        }
        let fields = ["name", "cluster_header", "weight", "host_rewrite_literal", "request_headers_to_add",
                      "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove",
                      "typed_per_filter_config", "metadata_match"]
        let clusters = object.list("clusters", required: true) { reader -> WeightedCluster? in
            guard let entry = reader.object(fields) else { return nil }
            guard let name = entry.nonEmptyString("name", required: true) else { return nil }
            let weight = entry.optionalInteger("weight", in: 0...Int64(UInt32.max)) ?? 0
            return WeightedCluster(
                name: name, weight: Int(weight), hostRewriteLiteral: entry.headerValue("host_rewrite_literal", nonEmpty: true),
                requestHeaders: entry.headerMutations(prefix: "request"),
                responseHeaders: entry.headerMutations(prefix: "response"), source: entry.source)
        }
        if !clusters.isEmpty, clusters.reduce(0, { $0 + $1.weight }) == 0 {
            object.error("the weights of weighted_clusters must add up to more than 0")
            return nil
        }
        return clusters.isEmpty ? nil : clusters
    }
}

/// Envoy `RetryPolicy`. A route's policy replaces the virtual host's, it does not merge with it.
public struct RetryPolicy: Sendable, Hashable, Encodable {
    public var retryOn: [String]
    public var numRetries: Int
    public var perTryTimeout: EnvoyDuration?
    public var backOffBase: EnvoyDuration
    public var backOffMax: EnvoyDuration
    public var retriableStatusCodes: [Int]
    public var source: SourceInfo

    static let fields = ["retry_on", "num_retries", "per_try_timeout", "per_try_idle_timeout", "retry_back_off",
                         "retriable_status_codes", "retry_host_predicate", "host_selection_retry_max_attempts",
                         "rate_limited_retry_back_off", "retriable_headers", "retriable_request_headers", "retry_priority"]
    static let conditions: Set<String> = [
        "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx",
        "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure",
    ]

    static func decode(_ object: ObjectReader) -> RetryPolicy? {
        var conditions: [String] = []
        if let field = object.field("retry_on"), let text = field.string() {
            conditions = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for condition in conditions where !Self.conditions.contains(condition) {
                field.error("unknown retry_on condition '\(condition)'\(DidYouMean.phrase(for: condition, among: Self.conditions))")
            }
        }
        let base = object.object("retry_back_off", fields: ["base_interval", "max_interval"]) {
            ($0.optionalDuration("base_interval", required: true), $0.optionalDuration("max_interval"))
        }
        let baseInterval = (base?.0 ?? nil) ?? .milliseconds(25)
        let tenfold = baseInterval.nanoseconds.multipliedReportingOverflow(by: 10)
        let maxInterval = (base?.1 ?? nil) ?? (tenfold.overflow ? baseInterval : EnvoyDuration(nanoseconds: tenfold.partialValue))
        if maxInterval < baseInterval { object.field("retry_back_off")?.error("max_interval is below base_interval") }
        return RetryPolicy(
            retryOn: conditions,
            numRetries: Int(object.integer("num_retries", in: 0...Int64(UInt32.max), default: 1)),
            perTryTimeout: object.optionalDuration("per_try_timeout"),
            backOffBase: baseInterval, backOffMax: maxInterval,
            retriableStatusCodes: object.list("retriable_status_codes") { $0.integer(in: 100...599).map(Int.init) },
            source: object.source)
    }
}

/// Envoy `InternalRedirectPolicy`: follow upstream 3xx inside the proxy instead of passing them on.
public struct InternalRedirectPolicy: Sendable, Hashable, Encodable {
    public var maxInternalRedirects: Int
    public var redirectResponseCodes: [Int]
    public var allowCrossSchemeRedirect: Bool

    static let fields = ["max_internal_redirects", "redirect_response_codes", "predicates",
                         "allow_cross_scheme_redirect", "response_headers_to_copy"]

    static func decode(_ object: ObjectReader) -> InternalRedirectPolicy? {
        var codes = object.list("redirect_response_codes") { reader -> Int? in
            guard let code = reader.integer(in: 300...399) else { return nil }
            guard [301, 302, 303, 307, 308].contains(code) else {
                reader.error("redirect code \(code) is not one of 301, 302, 303, 307, 308")
                return nil
            }
            return Int(code)
        }
        if codes.isEmpty { codes = [302] }
        return InternalRedirectPolicy(
            maxInternalRedirects: Int(object.integer("max_internal_redirects", in: 0...Int64(UInt32.max), default: 1)),
            redirectResponseCodes: codes,
            allowCrossSchemeRedirect: object.bool("allow_cross_scheme_redirect", default: false))
    }
}
