/// Envoy's `core.v3.DataSource`: bytes from a file, inline text, or an environment variable.
public enum DataSource: Sendable, Hashable, Encodable {
    case filename(String)
    case inlineString(String)
    case inlineBytes(String)
    case environmentVariable(String)

    static let fields = ["filename", "inline_string", "inline_bytes", "environment_variable", "watched_directory"]

    static func decode(_ reader: NodeReader) -> DataSource? {
        guard let object = reader.object(Self.fields) else { return nil }
        switch object.oneOf(["filename", "inline_string", "inline_bytes", "environment_variable"], required: true) {
        case "filename": return object.nonEmptyString("filename").map(DataSource.filename)
        case "inline_string": return object.string("inline_string").map(DataSource.inlineString)
        case "inline_bytes": return object.string("inline_bytes").map(DataSource.inlineBytes)
        case "environment_variable": return object.nonEmptyString("environment_variable").map(DataSource.environmentVariable)
        default: return nil
        }
    }

    /// Secrets never appear in dumps or diffs; file names and variable names do.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .filename(let name): try container.encode(["filename": name])
        case .inlineString: try container.encode(["inline_string": "[redacted]"])
        case .inlineBytes: try container.encode(["inline_bytes": "[redacted]"])
        case .environmentVariable(let name): try container.encode(["environment_variable": name])
        }
    }
}
