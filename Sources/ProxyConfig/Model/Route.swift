/// One route of a virtual host: a match and what to do with the requests it takes.
public struct Route: Sendable, Hashable, Encodable {
    public enum Action: Sendable, Hashable, Encodable {
        case route(RouteAction)
        case redirect(RedirectAction)
        case directResponse(DirectResponse)
    }

    public var name: String?
    public var match: RouteMatch
    public var action: Action
    public var requestHeaders: HeaderMutations
    public var responseHeaders: HeaderMutations
    /// Per-filter options by filter name, kept as written (mirrord's own filters decode theirs).
    public var typedPerFilterConfig: [String: OpaqueValue]
    /// The registry mirror's options for this route (`typed_per_filter_config` under a `mirrord.` filter name).
    public var registryMirror: RegistryMirrorPerRoute?
    public var source: SourceInfo

    static let fields = [
        "name", "match", "route", "redirect", "direct_response", "filter_action", "non_forwarding_action",
        "metadata", "decorator", "typed_per_filter_config", "request_headers_to_add", "request_headers_to_remove",
        "response_headers_to_add", "response_headers_to_remove", "tracing", "per_request_buffer_limit_bytes",
        "stat_prefix",
    ]

    static func decode(_ reader: NodeReader) -> Route? {
        guard let object = reader.object(Self.fields) else { return nil }
        for field in ["filter_action", "non_forwarding_action", "tracing"] where object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord")
        }
        let match = object.object("match", fields: RouteMatch.fields, required: true, RouteMatch.decode)
        let action: Action?
        switch object.oneOf(["route", "redirect", "direct_response", "filter_action", "non_forwarding_action"],
                            required: true) {
        case "route": action = object.object("route", fields: RouteAction.fields, RouteAction.decode).map(Action.route)
        case "redirect":
            action = object.object("redirect", fields: RedirectAction.fields, RedirectAction.decode).map(Action.redirect)
        case "direct_response":
            action = object.object("direct_response", fields: ["status", "body", "body_format"],
                                   DirectResponse.decode).map(Action.directResponse)
        default: action = nil
        }
        var perFilter: [String: OpaqueValue] = [:]
        var registryMirror: RegistryMirrorPerRoute?
        for (key, value) in object.field("typed_per_filter_config")?.entries() ?? [] {
            if key.hasPrefix("mirrord.") {
                registryMirror = value.typedConfig([TypeURL.registryMirrorPerRoute], fields: RegistryMirrorPerRoute.fields)
                    .map { RegistryMirrorPerRoute.decode($0.object) }
                continue
            }
            perFilter[key] = value.opaque()
        }
        guard let match, let action else { return nil }
        return Route(name: object.string("name"), match: match, action: action,
                     requestHeaders: object.headerMutations(prefix: "request"),
                     responseHeaders: object.headerMutations(prefix: "response"),
                     typedPerFilterConfig: perFilter, registryMirror: registryMirror, source: object.source)
    }
}

/// Envoy `RedirectAction`: answer with a 3xx built from the request.
public struct RedirectAction: Sendable, Hashable, Encodable {
    public enum ResponseCode: String, EnvoyEnum {
        case MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT, PERMANENT_REDIRECT
        public var status: Int { [301, 302, 303, 307, 308][Self.allCases.firstIndex(of: self)!] }
    }

    public enum PathRewrite: Sendable, Hashable, Encodable {
        case path(String)
        case prefix(String)
        case regex(pattern: RegexPattern, substitution: String)
    }

    public var scheme: String?
    public var host: String?
    public var port: Int?
    public var pathRewrite: PathRewrite?
    public var responseCode: ResponseCode
    public var stripQuery: Bool

    static let fields = ["https_redirect", "scheme_redirect", "host_redirect", "port_redirect", "path_redirect",
                         "prefix_rewrite", "regex_rewrite", "response_code", "strip_query"]

    static func decode(_ object: ObjectReader) -> RedirectAction? {
        var scheme: String?
        switch object.oneOf(["https_redirect", "scheme_redirect"]) {
        case "https_redirect": scheme = object.optionalBool("https_redirect") == true ? "https" : nil
        case "scheme_redirect": scheme = object.headerValue("scheme_redirect", nonEmpty: true)?.lowercased()
        default: break
        }
        var path: PathRewrite?
        switch object.oneOf(["path_redirect", "prefix_rewrite", "regex_rewrite"]) {
        case "path_redirect": path = object.headerValue("path_redirect").map(PathRewrite.path)
        case "prefix_rewrite": path = object.headerValue("prefix_rewrite").map(PathRewrite.prefix)
        case "regex_rewrite":
            path = object.object("regex_rewrite", fields: ["pattern", "substitution"]) { rewrite in
                guard let pattern = rewrite.field("pattern")?.regexMatcher(),
                      let substitution = rewrite.headerValue("substitution", required: true) else { return nil }
                return .regex(pattern: pattern, substitution: substitution)
            }
        default: break
        }
        return RedirectAction(
            scheme: scheme, host: object.headerValue("host_redirect", nonEmpty: true),
            port: object.optionalInteger("port_redirect", in: 1...65535).map(Int.init), pathRewrite: path,
            responseCode: object.enumeration("response_code", default: ResponseCode.MOVED_PERMANENTLY),
            stripQuery: object.bool("strip_query", default: false))
    }
}

/// Envoy `DirectResponseAction`: answer locally with a status and an optional body.
public struct DirectResponse: Sendable, Hashable, Encodable {
    public var status: Int
    public var body: DataSource?

    static func decode(_ object: ObjectReader) -> DirectResponse? {
        if object.has("body_format") { object.field("body_format")?.error("'body_format' is not supported by mirrord") }
        guard let status = object.optionalInteger("status", in: 200...599, required: true) else { return nil }
        let body = object.field("body").flatMap(DataSource.decode)
        return DirectResponse(status: Int(status), body: body)
    }
}
