/// One problem found while loading or validating configuration, reported like a compiler does.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible, Encodable {
    public enum Severity: String, Sendable, Hashable, Encodable {
        case error, warning
    }

    /// Who the message is about: our own rules, or what current Envoy would do with the same file.
    public enum Origin: String, Sendable, Hashable, Encodable {
        case mirrord
        case envoyCompat = "envoy-compat"
    }

    public var severity: Severity
    public var location: SourceLocation
    /// Dotted field path of the offending value, e.g. `resources[1].load_assignment.endpoints[0]`.
    public var path: String
    public var message: String
    public var origin: Origin

    public init(
        _ severity: Severity,
        at location: SourceLocation,
        path: String,
        _ message: String,
        origin: Origin = .mirrord
    ) {
        self.severity = severity
        self.location = location
        self.path = path
        self.message = message
        self.origin = origin
    }

    public var description: String {
        let path = self.path.isEmpty ? "" : "\(self.path): "
        let tag = self.origin == .envoyCompat ? " [envoy]" : ""
        return "\(self.location): \(self.severity.rawValue)\(tag): \(path)\(self.message)"
    }
}

extension Array where Element == Diagnostic {
    public var errors: [Diagnostic] { self.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { self.filter { $0.severity == .warning } }
    public var hasErrors: Bool { self.contains { $0.severity == .error } }
    /// Errors by mirrord's own rules; `--envoy-compat` findings do not stop mirrord from loading a file.
    public var blockingErrors: [Diagnostic] { self.filter { $0.severity == .error && $0.origin == .mirrord } }

    /// File order, then line and column, so output reads top to bottom like the files.
    public func sortedByLocation() -> [Diagnostic] {
        self.enumerated().sorted { a, b in
            a.element.location == b.element.location ? a.offset < b.offset : a.element.location < b.element.location
        }.map(\.element)
    }
}
