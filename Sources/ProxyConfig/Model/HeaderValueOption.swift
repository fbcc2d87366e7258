/// One header to add (Envoy `HeaderValueOption`), with how it combines with an existing value.
public struct HeaderValueOption: Sendable, Hashable, Encodable {
    public enum AppendAction: String, EnvoyEnum {
        case APPEND_IF_EXISTS_OR_ADD, ADD_IF_ABSENT, OVERWRITE_IF_EXISTS_OR_ADD, OVERWRITE_IF_EXISTS
    }

    public var key: String
    public var value: String
    public var appendAction: AppendAction
    public var keepEmptyValue: Bool
    public var source: SourceInfo

    public init(key: String, value: String, appendAction: AppendAction = .APPEND_IF_EXISTS_OR_ADD,
                keepEmptyValue: Bool = false, source: SourceInfo = .unknown) {
        self.key = key
        self.value = value
        self.appendAction = appendAction
        self.keepEmptyValue = keepEmptyValue
        self.source = source
    }

    static func decode(_ reader: NodeReader) -> HeaderValueOption? {
        guard let object = reader.object(["header", "append", "append_action", "keep_empty_value"]) else { return nil }
        let legacyAppend = object.optionalBool("append")
        if object.has("append"), object.has("append_action") {
            object.field("append_action")?.error("both 'append' and 'append_action' are set; use only 'append_action'")
        } else if object.has("append") {
            object.field("append")?.deprecated("append", of: "envoy.config.core.v3.HeaderValueOption", "use 'append_action'")
        }
        var action = object.enumeration("append_action", default: AppendAction.APPEND_IF_EXISTS_OR_ADD)
        if let legacyAppend, !object.has("append_action") {
            action = legacyAppend ? .APPEND_IF_EXISTS_OR_ADD : .OVERWRITE_IF_EXISTS_OR_ADD
        }
        let keep = object.bool("keep_empty_value", default: false)
        return object.object("header", fields: ["key", "value", "raw_value"], required: true) { header in
            guard let key = header.nonEmptyString("key", required: true) else { return nil }
            guard HeaderName.isValid(key) else {
                header.field("key")?.error("'\(key)' is not a valid header name")
                return nil
            }
            let value = header.headerValue("value") ?? header.headerValue("raw_value") ?? ""
            return HeaderValueOption(key: key.lowercased(), value: value, appendAction: action,
                                     keepEmptyValue: keep, source: object.source)
        }
    }
}

/// Header values and request-line parts taken from configuration: no CR, LF or NUL (RFC 9110 §5.5), so no
/// configured string can end a header line early or start a new message.
public enum HeaderValue {
    public static func isValid(_ value: String) -> Bool {
        !value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }
}

/// Header names as HTTP defines them (RFC 9110 tokens), plus HTTP/2 pseudo-headers.
public enum HeaderName {
    public static func isValid(_ name: String) -> Bool {
        let body = name.hasPrefix(":") ? name.utf8.dropFirst() : Substring(name).utf8
        return !body.isEmpty && body.allSatisfy(Self.isTokenByte)
    }

    /// RFC 9110 token characters (names of headers and methods), as bytes: the one rule for configuration and
    /// for heads parsed off the wire.
    @inlinable public static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
        default: return false
        }
    }

    /// Envoy refuses to remove these: `:-prefixed or host headers may not be removed`.
    public static func isProtectedFromRemoval(_ name: String) -> Bool {
        name.hasPrefix(":") || name.lowercased() == "host"
    }
}

extension ObjectReader {
    /// `*_headers_to_add` and `*_headers_to_remove` of one level (route configuration, vhost, route, weighted cluster).
    func headerMutations(prefix: String) -> HeaderMutations {
        let add = self.list("\(prefix)_headers_to_add", HeaderValueOption.decode)
        let remove = self.list("\(prefix)_headers_to_remove") { reader -> String? in
            guard let name = reader.string() else { return nil }
            if HeaderName.isProtectedFromRemoval(name) {
                reader.error(":-prefixed or host headers may not be removed")
                return nil
            }
            if !HeaderName.isValid(name) {
                reader.error("'\(name)' is not a valid header name")
                return nil
            }
            return name.lowercased()
        }
        return HeaderMutations(add: add, remove: remove)
    }
}

/// Headers to remove, then headers to add, at one level of the route configuration.
public struct HeaderMutations: Sendable, Hashable, Encodable {
    public var add: [HeaderValueOption] = []
    public var remove: [String] = []

    public init(add: [HeaderValueOption] = [], remove: [String] = []) {
        self.add = add
        self.remove = remove
    }

    public var isEmpty: Bool { self.add.isEmpty && self.remove.isEmpty }
}
