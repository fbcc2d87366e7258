import Foundation
import Yams

/// Turns the bytes of a configuration file into a YAML node tree, or into clear diagnostics.
///
/// Everything a hostile or broken file can do is caught here before decoding starts: binary
/// content, an empty file, tabs used for indentation, duplicate keys, several documents, a file
/// too large, nesting too deep for any real configuration.
public enum YAMLLoader {
    /// Larger than any real LDS/CDS file (1,000 clusters and 10,000 routes is about 2 MiB).
    public static let maximumFileSize = 64 << 20
    /// Envoy's configuration schema never nests deeper than about 25 levels.
    public static let maximumDepth = 100

    public enum Outcome {
        case document(Node)
        case failed(Diagnostic)
    }

    public static func load(_ bytes: [UInt8], file: String) -> Outcome {
        func fail(_ line: Int, _ column: Int, _ message: String) -> Outcome {
            .failed(Diagnostic(.error, at: SourceLocation(file: file, line: line, column: column), path: "", message))
        }
        if bytes.count > Self.maximumFileSize {
            return fail(1, 1, "file is \(bytes.count) bytes; the limit is \(Self.maximumFileSize) bytes")
        }
        if let offset = bytes.firstIndex(of: 0) {
            let (line, column) = position(ofByte: offset, in: bytes)
            return fail(line, column, "file is binary (NUL byte at offset \(offset)), not YAML or JSON text")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = firstInvalidUTF8Offset(bytes)
            let (line, column) = position(ofByte: offset, in: bytes)
            return fail(line, column, "file is not UTF-8 text (invalid byte at offset \(offset))")
        }
        if isBlank(text) {
            return fail(1, 1, "file is empty; a configuration file needs at least `resources: []`")
        }
        if let (line, column) = nestingBeyondLimit(bytes) {
            return fail(line, column, "nesting is deeper than \(Self.maximumDepth) levels")
        }
        return LargeStack.run {
            do {
                guard let node = try Yams.compose(yaml: text, .basic) else {
                    return fail(1, 1, "file is empty; a configuration file needs at least `resources: []`")
                }
                return .document(node)
            } catch let error as YamlError {
                return .failed(diagnostic(for: error, text: text, file: file))
            } catch {
                return fail(1, 1, "cannot parse YAML: \(error)")
            }
        }
    }

    // MARK: - Error translation

    static func diagnostic(for error: YamlError, text: String, file: String) -> Diagnostic {
        func at(_ mark: (line: Int, column: Int), _ message: String) -> Diagnostic {
            Diagnostic(.error, at: SourceLocation(file: file, line: mark.line, column: mark.column), path: "", message)
        }
        func at(_ mark: Mark, _ message: String) -> Diagnostic { at((mark.line, mark.column), message) }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            if character(at: mark, in: text) == "\t" {
                return at(mark, "tab character: YAML indentation must use spaces")
            }
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text) at \(context.mark.line):\(context.mark.column))" }
            return at(mark, message)
        case let .composer(context, problem, mark, _):
            if context?.text.contains("single document") == true {
                return at(mark, "file holds more than one YAML document; put every resource in one `resources:` list")
            }
            return at(mark, "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? ""
            let first = (line: context.mark.line, column: context.mark.column)
            let mark = secondOccurrence(ofKey: key, after: first, in: text) ?? first
            return at(mark, "duplicate key '\(key)' (the first is at line \(context.mark.line))")
        case let .reader(problem, offset, _, _):
            return at((1, 1), "cannot read file: \(problem) at offset \(offset ?? 0)")
        default:
            return at((1, 1), "cannot parse YAML: \(error)")
        }
    }

    /// Yams reports a duplicate at its first occurrence; the mistake is usually the second one.
    static func secondOccurrence(
        ofKey key: String, after mark: (line: Int, column: Int), in text: String
    ) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let indent = mark.column - 1
        for index in mark.line..<lines.count {
            let line = lines[index]
            let leading = line.prefix { $0 == " " || $0 == "-" }.count
            if leading < indent, !line.trimmingCharacters(in: .whitespaces).isEmpty,
               !line.trimmingCharacters(in: .whitespaces).hasPrefix("#"), leading != 0 || indent != 0 {
                if line.prefix(while: { $0 == " " }).count < indent { return nil }
            }
            let body = line.dropFirst(min(indent, line.count))
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where body.hasPrefix(candidate) {
                let rest = body.dropFirst(candidate.count).drop { $0 == " " }
                if rest.hasPrefix(":") { return (index + 1, indent + 1) }
            }
        }
        return nil
    }

    // MARK: - Pre-checks on raw bytes

    /// True when the text holds nothing but whitespace, comments and document markers; stops at the first content.
    static func isBlank(_ text: String) -> Bool {
        var rest = text.utf8[...]
        while !rest.isEmpty {
            let end = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
            let line = rest[..<end]
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
            let trimmed = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
            guard let first = trimmed.first, first != UInt8(ascii: "#") else { continue }
            let body = String(decoding: trimmed, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if body != "---", body != "..." { return false }
        }
        return true
    }

    /// A cheap bound on nesting: flow brackets outside quotes, plus block depth by indentation steps.
    static func nestingBeyondLimit(_ bytes: [UInt8]) -> (Int, Int)? {
        var depth = 0, line = 1, column = 0
        var quote: UInt8? = nil
        var inComment = false
        var lineStart = true, indent = 0, dashes = 0
        for byte in bytes {
            column += 1
            if byte == UInt8(ascii: "\n") {
                line += 1; column = 0; inComment = false; lineStart = true; indent = 0; dashes = 0
                continue
            }
            if lineStart {
                if byte == UInt8(ascii: " ") { indent += 1; continue }
                if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "?") { dashes += 1; continue }
                lineStart = false
                // Block nesting: each level needs at least one more column, and "- - -" nests on one line.
                if indent + dashes > Self.maximumDepth * 2 { return (line, column) }
            }
            if inComment { continue }
            if let open = quote {
                if byte == open { quote = nil }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
            case UInt8(ascii: "#"): inComment = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > Self.maximumDepth { return (line, column) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth = max(0, depth - 1)
            default: break
            }
        }
        return nil
    }

    static func position(ofByte offset: Int, in bytes: [UInt8]) -> (Int, Int) {
        var line = 1, column = 1
        for byte in bytes[..<offset] {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }

    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput, .error: return min(offset, max(0, bytes.count - 1))
            }
        }
    }

    private static func character(at mark: Mark, in text: String) -> Character? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let line = lines[mark.line - 1]
        // libyaml sometimes points one past the tab; look at both.
        let chars = Array(line)
        for index in [mark.column - 1, mark.column - 2] where index >= 0 && index < chars.count {
            if chars[index] == "\t" { return "\t" }
        }
        return nil
    }
}
