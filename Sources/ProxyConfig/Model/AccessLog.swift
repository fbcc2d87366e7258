/// A file access log of the connection manager or the admin endpoint.
public struct AccessLog: Sendable, Hashable, Encodable {
    public enum Format: Sendable, Hashable, Encodable {
        /// Envoy's `DEFAULT_FORMAT` line.
        case envoyDefault
        case text(String)
        case json([String: String])
    }

    /// Envoy's default line, exactly (research/envoy.md §6).
    public static let defaultFormat = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
        + "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
        + "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
        + "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n"

    public var name: String
    public var path: String
    public var format: Format
    public var source: SourceInfo

    public init(name: String, path: String, format: Format = .envoyDefault, source: SourceInfo = .unknown) {
        self.name = name
        self.path = path
        self.format = format
        self.source = source
    }

    static func decode(_ reader: NodeReader) -> AccessLog? {
        guard let object = reader.object(["name", "typed_config", "filter"]) else { return nil }
        if object.has("filter") { object.field("filter")?.error("access log filters are not supported by mirrord") }
        let name = object.string("name") ?? "envoy.access_loggers.file"
        guard let typed = object.field("typed_config") else {
            object.missing("typed_config")
            return nil
        }
        let fields = ["path", "log_format", "format", "json_format", "typed_json_format"]
        guard let (url, config) = typed.typedConfig(
            [TypeURL.fileAccessLog, TypeURL.stdoutAccessLog, TypeURL.stderrAccessLog], fields: fields)
        else { return nil }
        let path: String
        switch url {
        case TypeURL.stdoutAccessLog: path = "/dev/stdout"
        case TypeURL.stderrAccessLog: path = "/dev/stderr"
        default:
            guard let written = config.nonEmptyString("path", required: true) else { return nil }
            path = written
        }
        var format = Format.envoyDefault
        switch config.oneOf(["log_format", "format", "json_format", "typed_json_format"]) {
        case "log_format":
            format = config.object("log_format", fields: Self.logFormatFields, Self.decodeLogFormat) ?? .envoyDefault
        case "format":
            config.field("format")?.deprecated("format", of: "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                                               "use 'log_format.text_format_source'")
            format = config.string("format").map(Format.text) ?? .envoyDefault
        case "json_format", "typed_json_format":
            config.error("deprecated JSON format fields are not supported; use 'log_format.json_format'")
        default: break
        }
        return AccessLog(name: name, path: path, format: format, source: object.source)
    }

    static let logFormatFields = ["text_format", "text_format_source", "json_format", "omit_empty_values",
                                  "content_type", "formatters", "json_format_options"]

    static func decodeLogFormat(_ object: ObjectReader) -> Format? {
        switch object.oneOf(["text_format", "text_format_source", "json_format"], required: true) {
        case "text_format": return object.string("text_format").map(Format.text)
        case "text_format_source":
            switch object.field("text_format_source").flatMap(DataSource.decode) {
            case .inlineString(let text)?: return .text(text)
            case nil: return nil
            default:
                object.field("text_format_source")?.error("only inline_string formats are supported")
                return nil
            }
        case "json_format":
            var fields: [String: String] = [:]
            for (key, value) in object.field("json_format")?.entries() ?? [] {
                if let text = value.string() { fields[key] = text }
            }
            return .json(fields)
        default: return nil
        }
    }
}
