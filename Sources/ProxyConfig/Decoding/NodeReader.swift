import Yams

/// Reads typed values from one YAML node, with Envoy's leniency, and reports problems with their position.
///
/// Reading never throws: a bad value is reported to the file's `DecodeContext` and read as absent, so one
/// run reports every problem of a file instead of stopping at the first.
struct NodeReader {
    let node: Node
    let path: String
    let context: DecodeContext

    var location: SourceLocation {
        SourceLocation(file: self.context.file, line: self.node.mark?.line ?? 1, column: self.node.mark?.column ?? 1)
    }

    func appending(_ component: String, _ node: Node) -> NodeReader {
        NodeReader(node: node, path: self.path.isEmpty ? component : "\(self.path).\(component)", context: self.context)
    }

    func indexed(_ index: Int, _ node: Node) -> NodeReader {
        NodeReader(node: node, path: "\(self.path)[\(index)]", context: self.context)
    }

    // MARK: Reporting

    func error(_ message: String) {
        self.context.report(Diagnostic(.error, at: self.location, path: self.path, message))
    }

    func warning(_ message: String) {
        self.context.report(Diagnostic(.warning, at: self.location, path: self.path, message))
    }

    /// What current Envoy would reject (`.error`) or warn about; shown only with `--envoy-compat`.
    func envoyCompat(_ severity: Diagnostic.Severity, _ message: String) {
        self.context.report(Diagnostic(severity, at: self.location, path: self.path, message, origin: .envoyCompat))
    }

    /// A deprecated field: mirrord's own warning with the way forward, and Envoy's deprecation warning for `--envoy-compat`.
    func deprecated(_ field: String, of message: String, _ advice: String) {
        self.warning("'\(field)' is deprecated; \(advice)")
        self.envoyCompat(.warning, "Using deprecated option '\(message).\(field)'")
    }

    // MARK: Scalars

    /// YAML null (`~`, `null`, nothing): protobuf JSON reads it as "field not set".
    var isNull: Bool {
        guard case .scalar(let scalar) = self.node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private func kindName() -> String {
        switch self.node {
        case .scalar: return "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private var scalar: Node.Scalar? {
        if case .scalar(let scalar) = self.node { return scalar }
        return nil
    }

    private var isPlain: Bool { self.scalar.map { $0.style == .plain || $0.style == .any } ?? false }

    func string() -> String? {
        guard let scalar = self.scalar else {
            self.error("expected a string, found \(self.kindName())")
            return nil
        }
        return scalar.string
    }

    func bool() -> Bool? {
        guard let text = self.scalar?.string else {
            self.error("expected true or false, found \(self.kindName())")
            return nil
        }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        case "yes", "on", "y":
            if self.isPlain { return true }
        case "no", "off", "n":
            if self.isPlain { return false }
        default: break
        }
        self.error("expected true or false, found '\(text)'")
        return nil
    }

    /// An integer in `range`; a quoted integer is accepted, as protobuf JSON does for 64-bit fields.
    func integer(in range: ClosedRange<Int64>) -> Int64? {
        guard let text = self.scalar?.string else {
            self.error("expected an integer, found \(self.kindName())")
            return nil
        }
        guard let value = Int64(text) else {
            self.error("expected an integer, found '\(text)'")
            return nil
        }
        guard range.contains(value) else {
            self.error("value \(value) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func number() -> Double? {
        guard let text = self.scalar?.string, let value = Double(text), value.isFinite else {
            self.error("expected a number, found \(self.scalar.map { "'\($0.string)'" } ?? self.kindName())")
            return nil
        }
        return value
    }

    func duration() -> EnvoyDuration? {
        guard let text = self.scalar?.string else {
            self.error("expected a duration such as '5s', found \(self.kindName())")
            return nil
        }
        guard let value = EnvoyDuration(parsing: text) else {
            var hint = "use seconds with an 's' suffix, e.g. '5s' or '0.25s'"
            if Int64(text) != nil { hint = "a duration needs its unit: '\(text)s'" }
            if let minutes = text.split(separator: "m").first.flatMap({ Int64($0) }), text.hasSuffix("m"), text.count > 1 {
                hint = "Envoy durations are in seconds: '\(minutes * 60)s'"
            }
            self.error("invalid duration '\(text)': \(hint)")
            return nil
        }
        guard value.seconds >= 0, value.nanos >= 0 else {
            self.error("duration '\(text)' must not be negative")
            return nil
        }
        return value
    }

    /// An enum by name in any case (Envoy parses enums case-insensitively) or by its protobuf number.
    func enumeration<E: EnvoyEnum>(_ type: E.Type) -> E? {
        guard let text = self.scalar?.string else {
            self.error("expected one of \(E.allNames), found \(self.kindName())")
            return nil
        }
        if let value = E.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) {
            return value
        }
        if let number = Int(text), number >= 0, number < E.allCases.count {
            return Array(E.allCases)[number]
        }
        self.error("unknown value '\(text)'; expected one of \(E.allNames)\(DidYouMean.phrase(for: text, among: E.allCases.map(\.rawValue)))")
        return nil
    }

    // MARK: Collections

    /// The elements of a list; a single value where a list is expected is a one-element list (Envoy's legacy JSON rule).
    func list() -> [NodeReader]? {
        switch self.node {
        case .sequence(let sequence):
            guard self.context.visit(sequence.count, at: self.location, path: self.path) else { return nil }
            return sequence.enumerated().map { self.indexed($0.offset, $0.element) }
        case .mapping, .scalar:
            guard !self.isNull else { return [] }
            return [self.indexed(0, self.node)]
        case .alias:
            self.error("unresolved alias")
            return nil
        }
    }

    /// A mapping whose keys are checked against `fields`; unknown keys are errors with a suggestion.
    func object(_ fields: [String]) -> ObjectReader? {
        guard case .mapping = self.node else {
            if !self.isNull { self.error("expected a mapping, found \(self.kindName())") }
            return self.isNull ? ObjectReader(empty: self) : nil
        }
        return ObjectReader(self, fields: fields)
    }

    /// A mapping with keys the schema does not fix (`typed_extension_protocol_options`, metadata).
    func entries() -> [(key: String, value: NodeReader)]? {
        guard case .mapping(let mapping) = self.node else {
            self.error("expected a mapping, found \(self.kindName())")
            return nil
        }
        guard self.context.visit(mapping.count, at: self.location, path: self.path) else { return nil }
        return mapping.compactMap { pair in
            guard let key = pair.key.string else { return nil }
            return (key, self.appending(key, pair.value))
        }
    }

    /// The node as a plain JSON-like value, for opaque fields kept for display only.
    func opaque(depth: Int = 0) -> OpaqueValue {
        guard depth < 32, self.context.visit(1, at: self.location, path: self.path) else { return .string("…") }
        switch self.node {
        case .scalar(let scalar):
            return .string(scalar.string)
        case .sequence(let sequence):
            return .list(sequence.enumerated().map { self.indexed($0.offset, $0.element).opaque(depth: depth + 1) })
        case .mapping(let mapping):
            var result: [String: OpaqueValue] = [:]
            for pair in mapping { result[pair.key.string ?? "?"] = self.appending("", pair.value).opaque(depth: depth + 1) }
            return .map(result)
        case .alias:
            return .string("*alias")
        }
    }
}

/// An Envoy enum: its cases are the protobuf names in protobuf order.
protocol EnvoyEnum: RawRepresentable<String>, CaseIterable, Sendable, Hashable, Encodable {}

extension EnvoyEnum {
    static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A value kept as written for fields mirrord shows but does not interpret.
public indirect enum OpaqueValue: Sendable, Hashable, Encodable {
    case string(String)
    case list([OpaqueValue])
    case map([String: OpaqueValue])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .list(let value): try container.encode(value)
        case .map(let value): try container.encode(value)
        }
    }
}
