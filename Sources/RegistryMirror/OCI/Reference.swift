/// Repository names, tags and digests parsed against the OCI distribution-spec grammar.
///
/// Every name or digest that reaches a URL or the filesystem is one of these types, so a request
/// for `../../etc/passwd` or a digest with a slash is refused before anything touches it.
public struct RepositoryName: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 characters.
    public init?(parsing text: String) {
        guard !text.isEmpty, text.utf8.count <= 255 else { return nil }
        for component in text.split(separator: "/", omittingEmptySubsequences: false) {
            guard Self.isValidComponent(component) else { return nil }
        }
        self.value = text
    }

    static func isValidComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if isAlphanumeric(byte) { index += 1; continue }
            // A separator: ".", "_", "__" or a run of "-", always between alphanumerics.
            var end = index
            if byte == UInt8(ascii: ".") {
                end += 1
            } else if byte == UInt8(ascii: "_") {
                end += 1
                if end < bytes.count, bytes[end] == UInt8(ascii: "_") { end += 1 }
            } else if byte == UInt8(ascii: "-") {
                while end < bytes.count, bytes[end] == UInt8(ascii: "-") { end += 1 }
            } else {
                return false
            }
            guard end < bytes.count, isAlphanumeric(bytes[end]) else { return false }
            index = end
        }
        return true
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    public var description: String { self.value }
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
public struct Tag: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128, Self.isWord(first) else { return nil }
        guard bytes.dropFirst().allSatisfy({ Self.isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            return nil
        }
        self.value = text
    }

    static func isWord(_ byte: UInt8) -> Bool {
        RepositoryName.isAlphanumeric(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || byte == UInt8(ascii: "_")
    }

    public var description: String { self.value }
}

/// A content digest: `sha256:` and 64 lower-case hex digits, or `sha512:` and 128.
public struct Digest: Sendable, Hashable, CustomStringConvertible {
    public enum Algorithm: String, Sendable { case sha256, sha512 }

    public let algorithm: Algorithm
    public let hex: String

    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let algorithm = Algorithm(rawValue: String(parts[0])) else { return nil }
        let hex = parts[1]
        let length = algorithm == .sha256 ? 64 : 128
        guard hex.utf8.count == length,
              hex.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) })
        else { return nil }
        self.algorithm = algorithm
        self.hex = String(hex)
    }

    public var description: String { "\(self.algorithm.rawValue):\(self.hex)" }
}

/// What follows `/manifests/`: a tag or a digest.
public enum ManifestReference: Sendable, Hashable {
    case tag(Tag)
    case digest(Digest)

    public init?(parsing text: String) {
        if text.contains(":") {
            guard let digest = Digest(parsing: text) else { return nil }
            self = .digest(digest)
        } else {
            guard let tag = Tag(parsing: text) else { return nil }
            self = .tag(tag)
        }
    }
}
