/// Envoy's `StringMatcher`: exact, prefix, suffix, contains or a full-match regex, optionally ignoring case.
public struct StringMatcher: Sendable, Hashable, Encodable {
    public enum Kind: Sendable, Hashable, Encodable {
        case exact(String), prefix(String), suffix(String), contains(String), regex(RegexPattern)
    }

    public var kind: Kind
    public var ignoreCase: Bool

    public init(_ kind: Kind, ignoreCase: Bool = false) {
        self.kind = kind
        self.ignoreCase = ignoreCase
    }

    public func matches(_ value: String) -> Bool {
        let subject = self.ignoreCase ? value.lowercased() : value
        func folded(_ text: String) -> String { self.ignoreCase ? text.lowercased() : text }
        switch self.kind {
        case .exact(let text): return subject == folded(text)
        case .prefix(let text): return subject.hasPrefix(folded(text))
        case .suffix(let text): return subject.hasSuffix(folded(text))
        case .contains(let text): return subject.contains(folded(text))
        case .regex(let regex): return regex.fullMatch(value)
        }
    }

    static let fields = ["exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"]

    static func decode(_ reader: NodeReader) -> StringMatcher? {
        guard let object = reader.object(Self.fields) else { return nil }
        let ignoreCase = object.bool("ignore_case", default: false)
        let kind: Kind?
        switch object.oneOf(["exact", "prefix", "suffix", "contains", "safe_regex"], required: true) {
        case "exact": kind = object.string("exact").map(Kind.exact)
        case "prefix": kind = object.nonEmptyString("prefix").map(Kind.prefix)
        case "suffix": kind = object.nonEmptyString("suffix").map(Kind.suffix)
        case "contains": kind = object.nonEmptyString("contains").map(Kind.contains)
        case "safe_regex": kind = object.field("safe_regex")?.regexMatcher().map(Kind.regex)
        default: kind = nil
        }
        return kind.map { StringMatcher($0, ignoreCase: ignoreCase) }
    }
}

/// Envoy's route `HeaderMatcher`. `:authority` stands for the HTTP/1 Host header.
public struct HeaderMatcher: Sendable, Hashable, Encodable {
    public enum Rule: Sendable, Hashable, Encodable {
        case string(StringMatcher)
        case present(Bool)
        case range(start: Int64, end: Int64)
    }

    public var name: String
    public var rule: Rule
    public var invert: Bool
    public var treatMissingHeaderAsEmpty: Bool

    public init(name: String, rule: Rule, invert: Bool = false, treatMissingHeaderAsEmpty: Bool = false) {
        self.name = name.lowercased()
        self.rule = rule
        self.invert = invert
        self.treatMissingHeaderAsEmpty = treatMissingHeaderAsEmpty
    }

    /// `values` are every value of the header in the request (joined with "," as Envoy does for matching).
    public func matches(_ values: [String]) -> Bool {
        let result: Bool
        let joined: String? = values.isEmpty ? (self.treatMissingHeaderAsEmpty ? "" : nil) : values.joined(separator: ",")
        switch self.rule {
        case .present(let expected):
            result = (joined != nil) == expected
        case .string(let matcher):
            result = joined.map(matcher.matches) ?? false
        case .range(let start, let end):
            result = joined.flatMap { Int64($0) }.map { $0 >= start && $0 < end } ?? false
        }
        return self.invert ? !result : result
    }

    static let fields = [
        "name", "string_match", "present_match", "range_match", "invert_match", "treat_missing_header_as_empty",
        "exact_match", "safe_regex_match", "prefix_match", "suffix_match", "contains_match",
    ]

    static func decode(_ reader: NodeReader) -> HeaderMatcher? {
        guard let object = reader.object(Self.fields) else { return nil }
        guard let name = object.nonEmptyString("name", required: true) else { return nil }
        let invert = object.bool("invert_match", default: false)
        let missingAsEmpty = object.bool("treat_missing_header_as_empty", default: false)
        let kinds = ["string_match", "present_match", "range_match", "exact_match", "safe_regex_match",
                     "prefix_match", "suffix_match", "contains_match"]
        let rule: Rule?
        let chosen = object.oneOf(kinds)
        if let chosen, chosen.hasSuffix("_match"), !["string_match", "present_match", "range_match"].contains(chosen) {
            object.field(chosen)?.deprecated(chosen, of: "envoy.config.route.v3.HeaderMatcher", "use 'string_match'")
        }
        switch chosen {
        case "string_match": rule = object.field("string_match").flatMap(StringMatcher.decode).map(Rule.string)
        case "present_match": rule = object.optionalBool("present_match").map(Rule.present)
        case "range_match":
            rule = object.object("range_match", fields: ["start", "end"]) { range -> Rule? in
                let start = range.optionalInteger("start", in: Int64.min...Int64.max, required: true)
                let end = range.optionalInteger("end", in: Int64.min...Int64.max, required: true)
                guard let start, let end else { return nil }
                if start >= end { range.error("range start \(start) must be below end \(end)") }
                return .range(start: start, end: end)
            }
        case "exact_match": rule = object.string("exact_match").map { .string(StringMatcher(.exact($0))) }
        case "prefix_match": rule = object.string("prefix_match").map { .string(StringMatcher(.prefix($0))) }
        case "suffix_match": rule = object.string("suffix_match").map { .string(StringMatcher(.suffix($0))) }
        case "contains_match": rule = object.string("contains_match").map { .string(StringMatcher(.contains($0))) }
        case "safe_regex_match":
            rule = object.field("safe_regex_match")?.regexMatcher().map { .string(StringMatcher(.regex($0))) }
        default:
            // No matcher: the header must be present (Envoy's default for a bare name).
            rule = .present(true)
        }
        return rule.map { HeaderMatcher(name: name, rule: $0, invert: invert, treatMissingHeaderAsEmpty: missingAsEmpty) }
    }
}

/// Envoy's `QueryParameterMatcher`: only the first value of a repeated key is considered.
public struct QueryParameterMatcher: Sendable, Hashable, Encodable {
    public var name: String
    /// nil means "present".
    public var stringMatch: StringMatcher?

    public func matches(_ value: String?) -> Bool {
        guard let value else { return false }
        return self.stringMatch?.matches(value) ?? true
    }

    static func decode(_ reader: NodeReader) -> QueryParameterMatcher? {
        guard let object = reader.object(["name", "string_match", "present_match"]) else { return nil }
        guard let name = object.nonEmptyString("name", required: true) else { return nil }
        switch object.oneOf(["string_match", "present_match"]) {
        case "string_match":
            guard let matcher = object.field("string_match").flatMap(StringMatcher.decode) else { return nil }
            return QueryParameterMatcher(name: name, stringMatch: matcher)
        default:
            if object.optionalBool("present_match") == false {
                object.field("present_match")?.error("present_match must be true when set")
            }
            return QueryParameterMatcher(name: name, stringMatch: nil)
        }
    }
}
