import Yams

/// Reads the fields of one YAML mapping against the list of fields its Envoy message has.
///
/// Unknown keys are reported once, with a did-you-mean, when the reader is made. Each getter that
/// takes a `default` records the field as defaulted when it is absent, so the model can say so.
final class ObjectReader {
    let reader: NodeReader
    private var values: [String: NodeReader] = [:]
    private(set) var defaulted: Set<String> = []

    init(empty reader: NodeReader) {
        self.reader = reader
    }

    init(_ reader: NodeReader, fields: [String]) {
        self.reader = reader
        guard case .mapping(let mapping) = reader.node else { return }
        var pairs: [(key: Node, value: Node)] = []
        for pair in mapping {
            if pair.key.string == "<<", pair.key.scalar?.style == .plain {
                // YAML merge key: the merged mapping's fields, overridden by the ones written here.
                for source in (pair.value.sequence.map(Array.init) ?? [pair.value]) {
                    if let merged = source.mapping { pairs.append(contentsOf: merged.map { ($0.key, $0.value) }) }
                }
                continue
            }
            pairs.append((pair.key, pair.value))
        }
        for pair in pairs {
            guard case .scalar(let key) = pair.key else {
                NodeReader(node: pair.key, path: reader.path, context: reader.context)
                    .error("a mapping key must be a plain name")
                continue
            }
            let name = key.string
            let keyReader = reader.appending(name, pair.key)
            if !fields.contains(name) {
                keyReader.error("unknown field '\(name)'\(DidYouMean.phrase(for: name, among: fields))")
                continue
            }
            let valueReader = reader.appending(name, pair.value)
            if valueReader.isNull { continue }
            self.values[name] = valueReader
        }
    }

    var location: SourceLocation { self.reader.location }
    var path: String { self.reader.path }

    /// Where this message came from and what it left to Envoy's defaults.
    var source: SourceInfo {
        var info = SourceInfo(location: self.location, path: self.path, defaulted: self.defaulted)
        info.fieldLocations = self.values.mapValues(\.location)
        return info
    }

    func has(_ key: String) -> Bool { self.values[key] != nil }
    func field(_ key: String) -> NodeReader? { self.values[key] }

    func markDefaulted(_ key: String) { self.defaulted.insert(key) }

    func error(_ message: String) { self.reader.error(message) }
    func warning(_ message: String) { self.reader.warning(message) }

    // MARK: Required and oneof

    /// Reports a missing required field at the mapping that lacks it.
    func missing(_ key: String) {
        self.reader.error("missing required field '\(key)'")
    }

    /// Protobuf `oneof`: at most one of `keys` may be set; returns the one that is.
    @discardableResult
    func oneOf(_ keys: [String], required: Bool = false) -> String? {
        let present = keys.filter { self.values[$0] != nil }
        if present.count > 1, let second = self.values[present[1]] {
            second.error("only one of \(keys.map { "'\($0)'" }.joined(separator: ", ")) may be set; found '\(present[0])' and '\(present[1])'")
        }
        if present.isEmpty, required {
            self.reader.error("one of \(keys.map { "'\($0)'" }.joined(separator: ", ")) is required")
        }
        return present.first
    }

    // MARK: Typed getters

    func string(_ key: String, required: Bool = false) -> String? {
        guard let field = self.values[key] else {
            if required { self.missing(key) }
            return nil
        }
        return field.string()
    }

    func nonEmptyString(_ key: String, required: Bool = false) -> String? {
        guard let value = self.string(key, required: required) else { return nil }
        if value.isEmpty {
            self.values[key]?.error("must not be empty")
            return nil
        }
        return value
    }

    /// A string that goes into a header or the request line: refused when it holds CR, LF or NUL, which would
    /// let a configured value split the message (the data plane does not check these again per request).
    func headerValue(_ key: String, required: Bool = false, nonEmpty: Bool = false) -> String? {
        guard let value = nonEmpty ? self.nonEmptyString(key, required: required) : self.string(key, required: required)
        else { return nil }
        guard HeaderValue.isValid(value) else {
            self.values[key]?.error("must not contain CR, LF or NUL characters")
            return nil
        }
        return value
    }

    /// A path for the request line sent upstream (`prefix_rewrite`, a rewrite's substitution): visible ASCII
    /// only, since a space or a control character would end the request target early on the wire. Others are
    /// written percent-encoded.
    func pathValue(_ key: String, required: Bool = false) -> String? {
        guard let value = self.headerValue(key, required: required) else { return nil }
        guard value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            self.values[key]?.error("must be visible ASCII characters only (percent-encode spaces and others)")
            return nil
        }
        return value
    }

    func bool(_ key: String, default value: Bool) -> Bool {
        guard let field = self.values[key] else {
            self.defaulted.insert(key)
            return value
        }
        return field.bool() ?? value
    }

    func optionalBool(_ key: String) -> Bool? { self.values[key]?.bool() }

    func integer(_ key: String, in range: ClosedRange<Int64>, default value: Int64) -> Int64 {
        guard let field = self.values[key] else {
            self.defaulted.insert(key)
            return value
        }
        return field.integer(in: range) ?? value
    }

    func optionalInteger(_ key: String, in range: ClosedRange<Int64>, required: Bool = false) -> Int64? {
        guard let field = self.values[key] else {
            if required { self.missing(key) }
            return nil
        }
        return field.integer(in: range)
    }

    func duration(_ key: String, default value: EnvoyDuration) -> EnvoyDuration {
        guard let field = self.values[key] else {
            self.defaulted.insert(key)
            return value
        }
        return field.duration() ?? value
    }

    func optionalDuration(_ key: String, required: Bool = false) -> EnvoyDuration? {
        guard let field = self.values[key] else {
            if required { self.missing(key) }
            return nil
        }
        return field.duration()
    }

    func enumeration<E: EnvoyEnum>(_ key: String, default value: E) -> E {
        guard let field = self.values[key] else {
            self.defaulted.insert(key)
            return value
        }
        return field.enumeration(E.self) ?? value
    }

    func strings(_ key: String) -> [String] {
        self.list(key) { $0.string() }
    }

    /// A repeated field; elements that fail to decode are reported and left out.
    func list<T>(_ key: String, required: Bool = false, _ element: (NodeReader) -> T?) -> [T] {
        guard let field = self.values[key] else {
            if required { self.missing(key) }
            return []
        }
        return (field.list() ?? []).compactMap(element)
    }

    /// A nested message with its own field list.
    func object<T>(_ key: String, fields: [String], required: Bool = false, _ decode: (ObjectReader) -> T?) -> T? {
        guard let field = self.values[key] else {
            if required { self.missing(key) }
            return nil
        }
        return field.object(fields).flatMap(decode)
    }
}
