import Foundation

/// A configuration value as a plain tree with Envoy's field names, for diffs and JSON output.
///
/// Built from the typed model, so equivalent spellings (`1s`/`1.0s`, a mapping/a one-element list,
/// reordered keys) produce the same tree.
public indirect enum ConfigTree: Sendable, Hashable, Encodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case list([ConfigTree])
    case object([String: ConfigTree])

    public init<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(value),
              let raw = try? JSONDecoder().decode(RawJSON.self, from: data) else {
            self = .null
            return
        }
        self = raw.tree
    }

    /// Leaves out nulls and the `source` of each message, and unwraps enum payloads.
    static func normalized(_ fields: [String: ConfigTree]) -> ConfigTree {
        var result: [String: ConfigTree] = [:]
        for (key, value) in fields where value != .null && key != "source" { result[key] = value }
        // Swift encodes an enum payload as `{"case": {"_0": value}}`; keep the value.
        if result.count == 1, let only = result["_0"] { return only }
        return .object(result)
    }

    private struct RawJSON: Decodable {
        let tree: ConfigTree

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self.tree = .null
            } else if let value = try? container.decode(Bool.self) {
                self.tree = .bool(value)
            } else if let value = try? container.decode(Double.self) {
                self.tree = .number(value)
            } else if let value = try? container.decode(String.self) {
                self.tree = .string(value)
            } else if let value = try? container.decode([RawJSON].self) {
                self.tree = .list(value.map(\.tree))
            } else {
                let fields = try container.decode([String: RawJSON].self)
                self.tree = ConfigTree.normalized(fields.mapValues(\.tree))
            }
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return String(value)
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): return value
        case .list(let values): return "[" + values.map(\.quotedDescription).joined(separator: ", ") + "]"
        case .object(let fields):
            return "{" + fields.keys.sorted().map { "\($0): \(fields[$0]!.quotedDescription)" }.joined(separator: ", ") + "}"
        }
    }

    var quotedDescription: String {
        if case .string(let value) = self, value.isEmpty || value.contains(",") || value.contains(" ") { return "\"\(value)\"" }
        return self.description
    }

    /// The `name` of an object element, used to pair list elements by identity instead of position.
    var name: String? {
        if case .object(let fields) = self, case .string(let name)? = fields["name"] { return name }
        return nil
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .list(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
