/// What a route matches (Envoy `RouteMatch`): one path rule, plus headers and query parameters that must all match.
public struct RouteMatch: Sendable, Hashable, Encodable {
    public enum PathRule: Sendable, Hashable, Encodable, CustomStringConvertible {
        case prefix(String)
        case path(String)
        case safeRegex(RegexPattern)
        case pathSeparatedPrefix(String)

        public var description: String {
            switch self {
            case .prefix(let value): return "prefix \(value)"
            case .path(let value): return "path \(value)"
            case .safeRegex(let regex): return "regex \(regex.pattern)"
            case .pathSeparatedPrefix(let value): return "path_separated_prefix \(value)"
            }
        }
    }

    public var path: PathRule
    public var caseSensitive: Bool
    public var headers: [HeaderMatcher]
    public var queryParameters: [QueryParameterMatcher]
    public var source: SourceInfo

    public init(path: PathRule, caseSensitive: Bool = true, headers: [HeaderMatcher] = [],
                queryParameters: [QueryParameterMatcher] = [], source: SourceInfo = .unknown) {
        self.path = path
        self.caseSensitive = caseSensitive
        self.headers = headers
        self.queryParameters = queryParameters
        self.source = source
    }

    static let fields = [
        "prefix", "path", "safe_regex", "path_separated_prefix", "connect_matcher", "path_match_policy",
        "case_sensitive", "headers", "query_parameters", "runtime_fraction", "grpc", "tls_context",
        "dynamic_metadata", "filter_state", "cookies",
    ]

    static func decode(_ object: ObjectReader) -> RouteMatch? {
        for unsupported in ["connect_matcher", "path_match_policy", "runtime_fraction", "grpc", "tls_context",
                            "dynamic_metadata", "filter_state", "cookies"] where object.has(unsupported) {
            object.field(unsupported)?.error("'\(unsupported)' is not supported by mirrord")
        }
        let caseSensitive = object.bool("case_sensitive", default: true)
        let headers = object.list("headers", HeaderMatcher.decode)
        let query = object.list("query_parameters", QueryParameterMatcher.decode)
        let rule: PathRule?
        switch object.oneOf(["prefix", "path", "safe_regex", "path_separated_prefix"], required: true) {
        case "prefix": rule = object.string("prefix").map(PathRule.prefix)
        case "path": rule = object.string("path").map(PathRule.path)
        case "safe_regex": rule = object.field("safe_regex")?.regexMatcher().map(PathRule.safeRegex)
        case "path_separated_prefix":
            rule = object.string("path_separated_prefix").flatMap { value in
                let field = object.field("path_separated_prefix")
                guard value.hasPrefix("/") else { field?.error("must start with '/'"); return nil }
                guard !value.hasSuffix("/") else { field?.error("must not end with '/'"); return nil }
                guard !value.contains("?"), !value.contains("#") else { field?.error("must not contain '?' or '#'"); return nil }
                return .pathSeparatedPrefix(value)
            }
        default: rule = nil
        }
        if case .path(let value)? = rule, !value.hasPrefix("/") {
            object.field("path")?.error("path '\(value)' must start with '/'")
        }
        return rule.map {
            RouteMatch(path: $0, caseSensitive: caseSensitive, headers: headers, queryParameters: query, source: object.source)
        }
    }
}
