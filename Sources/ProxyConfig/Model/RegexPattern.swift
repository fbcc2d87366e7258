import Foundation

/// A compiled `safe_regex` (Envoy's `RegexMatcher` with RE2 syntax), compared by its pattern text.
///
/// Matching uses ICU (NSRegularExpression), whose syntax is a superset of RE2's; the constructs RE2
/// rejects (backreferences, lookaround, possessive quantifiers) are refused here too, so a pattern
/// that loads in mirrord also loads in Envoy and means the same thing.
public struct RegexPattern: Sendable, Hashable, Encodable, CustomStringConvertible {
    public let pattern: String
    let compiled: NSRegularExpression
    /// The same pattern anchored at both ends, so an alternation cannot stop at a shorter prefix.
    let whole: NSRegularExpression

    public init(_ pattern: String) throws(RegexError) {
        if let problem = Self.unsupportedByRE2(pattern) { throw RegexError(message: problem) }
        do {
            self.compiled = try NSRegularExpression(pattern: pattern)
            self.whole = try NSRegularExpression(pattern: "\\A(?:\(pattern))\\z")
        } catch {
            throw RegexError(message: "regex '\(pattern)' does not compile")
        }
        self.pattern = pattern
    }

    public struct RegexError: Error, Sendable { public var message: String }

    /// RE2 full-match semantics, as Envoy's path and header regex matchers use.
    public func fullMatch(_ text: String) -> Bool {
        self.whole.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Envoy's `regex_rewrite`: every match replaced, `\1` in the substitution naming a capture group.
    public func replacingMatches(in text: String, with substitution: String) -> String {
        let template = Self.icuTemplate(fromRE2: substitution)
        return self.compiled.stringByReplacingMatches(
            in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
    }

    public var captureGroupCount: Int { self.compiled.numberOfCaptureGroups }

    public var description: String { self.pattern }

    public static func == (lhs: RegexPattern, rhs: RegexPattern) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.pattern) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.pattern)
    }

    /// RE2 substitutions write groups as `\1`; ICU templates as `$1`, and `$` is literal in RE2.
    static func icuTemplate(fromRE2 substitution: String) -> String {
        var result = ""
        var iterator = substitution.makeIterator()
        while let character = iterator.next() {
            switch character {
            case "$": result += "\\$"
            case "\\":
                if let next = iterator.next() {
                    result += next.isASCIIDigit ? "$\(next)" : (next == "\\" ? "\\\\" : String(next))
                }
            default: result.append(character)
            }
        }
        return result
    }

    /// Constructs ICU accepts and RE2 does not; Envoy would refuse the configuration.
    static func unsupportedByRE2(_ pattern: String) -> String? {
        let checks: [(String, String)] = [
            ("(?=", "lookahead"), ("(?!", "negative lookahead"), ("(?<=", "lookbehind"), ("(?<!", "negative lookbehind"),
            ("(?>", "atomic groups"), ("*+", "possessive quantifiers"), ("++", "possessive quantifiers"),
            ("?+", "possessive quantifiers"),
        ]
        for (token, name) in checks where pattern.contains(token) {
            return "regex '\(pattern)' uses \(name), which RE2 (Envoy's regex engine) does not support"
        }
        var previous: Character = " "
        for character in pattern {
            if previous == "\\", character.isASCIIDigit, character != "0" {
                return "regex '\(pattern)' uses a backreference (\\\(character)), which RE2 does not support"
            }
            previous = (previous == "\\" && character == "\\") ? " " : character
        }
        return nil
    }
}

extension NodeReader {
    /// Reads a `RegexMatcher` (`{regex: ..., google_re2: {...}}`) and compiles it.
    func regexMatcher() -> RegexPattern? {
        guard let object = self.object(["regex", "google_re2"]) else { return nil }
        if object.has("google_re2") {
            object.field("google_re2")?.deprecated("google_re2", of: "envoy.type.matcher.v3.RegexMatcher", "it is ignored")
        }
        guard let text = object.string("regex", required: true), let field = object.field("regex") else { return nil }
        return field.compile(text)
    }

    func compile(_ text: String) -> RegexPattern? {
        do {
            return try RegexPattern(text)
        } catch {
            self.error(error.message)
            return nil
        }
    }
}
