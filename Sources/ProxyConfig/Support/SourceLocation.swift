/// Where a configuration value was written, so every message can say `lds.yaml:34:9`.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible, Encodable {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(self.file):\(self.line):\(self.column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// Where a decoded value came from and which of its fields took Envoy's default.
///
/// It takes no part in equality, hashing or encoding: two configurations that say the same
/// thing are equal wherever and however they say it, which is what `mirrorctl diff` relies on.
public struct SourceInfo: Sendable, Hashable, Encodable {
    public var location: SourceLocation
    /// Field path of the message in its file, e.g. `resources[2]`.
    public var path: String
    /// Where each written field's value starts, for diagnostics made after decoding.
    public var fieldLocations: [String: SourceLocation] = [:]
    /// Envoy field names that were absent and therefore hold Envoy's default value.
    public var defaulted: Set<String>

    public init(location: SourceLocation, path: String = "", defaulted: Set<String> = []) {
        self.location = location
        self.path = path
        self.defaulted = defaulted
    }

    /// Where a field's value was written, or the message itself when the field was not.
    public func location(of field: String) -> SourceLocation { self.fieldLocations[field] ?? self.location }

    /// The path of one of this message's fields, for diagnostics made after decoding.
    public func path(_ field: String) -> String { self.path.isEmpty ? field : "\(self.path).\(field)" }

    public static let unknown = SourceInfo(location: SourceLocation(file: "<none>", line: 0, column: 0))

    /// True when `field` was not written and Envoy's default applies.
    public func isDefaulted(_ field: String) -> Bool { self.defaulted.contains(field) }

    public static func == (lhs: SourceInfo, rhs: SourceInfo) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}
