import Foundation

/// Tag → digest answers on disk (`<cache>/tags/<registry>/<repository>/<tag>`), so a restarted mirror still knows
/// which manifest a tag named while its upstream is unreachable. The file's modification time is when the
/// upstream last confirmed it, so the tag TTL keeps counting across restarts. Paths are built only from parsed
/// names and tags (their grammar has no `/` in a tag and no `.`-led component), never from request text.
struct TagStore: Sendable {
    let root: URL

    init(root: URL) { self.root = root.appendingPathComponent("tags") }

    private func path(_ key: TagCache.Key) -> URL {
        self.root.appendingPathComponent(RegistryRequest.canonical(key.upstream))
            .appendingPathComponent(key.repository.value).appendingPathComponent(key.tag.value)
    }

    /// The stored digest and when it was confirmed.
    func load(_ key: TagCache.Key) -> (digest: Digest, confirmed: Date)? {
        let file = self.path(key)
        guard let text = try? String(contentsOf: file, encoding: .utf8),
              let digest = Digest(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)),
              let modified = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date
        else { return nil }
        return (digest, modified)
    }

    func record(_ digest: Digest, for key: TagCache.Key) {
        let file = self.path(key)
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? digest.description.write(to: file, atomically: true, encoding: .utf8)
    }

    func remove(_ key: TagCache.Key) { try? FileManager.default.removeItem(at: self.path(key)) }
}
