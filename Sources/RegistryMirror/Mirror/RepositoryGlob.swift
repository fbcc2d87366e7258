/// A repository pattern of an upstream's allow or deny list: `*` matches within one path component,
/// `**` across components (`library/*`, `bitnami/**`, `*/internal-*`).
struct RepositoryGlob: Sendable, Hashable {
    let pattern: [UInt8]

    init(_ pattern: String) { self.pattern = Array(pattern.utf8) }

    func matches(_ name: String) -> Bool { Self.match(self.pattern[...], Array(name.utf8)[...]) }

    private static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        if first == UInt8(ascii: "*") {
            let across = pattern.dropFirst().first == UInt8(ascii: "*")
            let rest = pattern.dropFirst(across ? 2 : 1)
            var index = text.startIndex
            while true {
                if self.match(rest, text[index...]) { return true }
                guard index < text.endIndex, across || text[index] != UInt8(ascii: "/") else { return false }
                index += 1
            }
        }
        guard let head = text.first, head == first else { return false }
        return self.match(pattern.dropFirst(), text.dropFirst())
    }
}

extension UpstreamRegistry {
    /// Whether the mirror serves `name` from this upstream: on the allow list (when there is one) and not denied.
    func allows(_ name: RepositoryName) -> Bool {
        let allow = self.options.allowRepositories.map(RepositoryGlob.init)
        let deny = self.options.denyRepositories.map(RepositoryGlob.init)
        if !allow.isEmpty, !allow.contains(where: { $0.matches(name.value) }) { return false }
        return !deny.contains { $0.matches(name.value) }
    }
}
