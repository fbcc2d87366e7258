import Foundation

/// Tag → digest answers per upstream and repository. A tag is mutable, so an answer is fresh only for the
/// upstream's tag TTL; after that the mirror asks again (a HEAD with the full Accept list), and if the upstream
/// cannot answer, the last known digest is still there to serve with `Warning: 299`. Digests themselves are
/// immutable and never pass through here. Bounded: past `capacity`, the oldest answers are dropped first.
public actor TagCache {
    public struct Key: Hashable, Sendable {
        public var upstream: String
        public var repository: RepositoryName
        public var tag: Tag

        public init(upstream: String, repository: RepositoryName, tag: Tag) {
            self.upstream = upstream
            self.repository = repository
            self.tag = tag
        }
    }

    public enum Lookup: Sendable, Equatable {
        /// Within the TTL: serve without asking the upstream.
        case fresh(Digest)
        /// Past the TTL but within the stale-while-revalidate window: serve this now, ask the upstream in the
        /// background.
        case revalidate(Digest)
        /// Past the TTL: ask the upstream; serve this, marked stale, only if it fails.
        case stale(Digest)
        case unknown
    }

    private struct Entry {
        var digest: Digest
        var stored: Date
        var ttl: TimeInterval
        var staleWhileRevalidate: TimeInterval
    }

    private var entries: [Key: Entry] = [:]
    /// Tags being asked about in the background, so a burst of pulls causes one upstream request.
    private var refreshing: Set<Key> = []
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        precondition(capacity > 0, "a tag cache holds at least one answer")
        self.capacity = capacity
    }

    public func lookup(_ key: Key, now: Date = Date()) -> Lookup {
        guard let entry = self.entries[key] else { return .unknown }
        let age = now.timeIntervalSince(entry.stored)
        if age < entry.ttl { return .fresh(entry.digest) }
        return age < entry.ttl + entry.staleWhileRevalidate ? .revalidate(entry.digest) : .stale(entry.digest)
    }

    /// Records what the upstream answered at `now`; `ttl` is the upstream's tag TTL (0: always ask again) and
    /// `staleWhileRevalidate` the window after it in which the digest is served while asking in the background.
    public func store(_ digest: Digest, for key: Key, ttl: TimeInterval, staleWhileRevalidate: TimeInterval = 0,
                      now: Date = Date()) {
        if self.entries[key] == nil, self.entries.count >= self.capacity { self.evictOldest() }
        self.entries[key] = Entry(digest: digest, stored: now, ttl: max(ttl, 0),
                                  staleWhileRevalidate: max(staleWhileRevalidate, 0))
    }

    /// The upstream says the tag is gone (404): a stale digest must not be served for it any more.
    public func forget(_ key: Key) { self.entries[key] = nil }

    /// Claims the background refresh of `key`: true for the first caller until `endRefresh`.
    public func beginRefresh(_ key: Key) -> Bool { self.refreshing.insert(key).inserted }

    public func endRefresh(_ key: Key) { self.refreshing.remove(key) }

    public var count: Int { self.entries.count }

    /// Drops the oldest tenth at once, so a full cache pays one sort per many inserts, not one scan per insert.
    private func evictOldest() {
        let drop = max(1, self.capacity / 10)
        for (key, _) in self.entries.sorted(by: { $0.value.stored < $1.value.stored }).prefix(drop) {
            self.entries[key] = nil
        }
    }
}
