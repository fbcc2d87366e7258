import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the store knows about its blobs for `max_size`: each one's size, when it was last used, and how many
/// responses are reading it. Least recently used goes first; a blob being read is never removed.
struct BlobIndex {
    struct Entry {
        var size: Int64
        var lastUse: UInt64
        var readers: Int
    }

    var entries: [Digest: Entry] = [:]
    var total: Int64 = 0
    private var clock: UInt64 = 0

    mutating func tick() -> UInt64 {
        self.clock += 1
        return self.clock
    }

    mutating func add(_ digest: Digest, size: Int64) {
        if let old = self.entries[digest] { self.total -= old.size }
        let readers = self.entries[digest]?.readers ?? 0
        self.entries[digest] = Entry(size: size, lastUse: self.tick(), readers: readers)
        self.total += size
    }

    /// Blobs to delete, oldest use first, until the total fits `limit`; they leave the index. `keeping` (the blob
    /// just stored) is never chosen.
    mutating func victims(toFit limit: Int64, keeping: Digest?) -> [Digest] {
        guard self.total > limit else { return [] }
        var chosen: [Digest] = []
        for (digest, entry) in self.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse })
        where entry.readers == 0 && digest != keeping {
            guard self.total > limit else { break }
            chosen.append(digest)
            self.total -= entry.size
            self.entries[digest] = nil
        }
        return chosen
    }
}

extension FileBlobStore {
    /// Reads the sizes of what is stored (after a restart); file modification order stands for last use.
    func loadIndex() {
        let base = self.root.appendingPathComponent("blobs/sha256")
        var found: [(Digest, Int64, Int)] = []
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? [] {
            let directory = base.appendingPathComponent(prefix)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
                guard let digest = Digest(parsing: "sha256:" + name) else { continue }
                var info = stat()
                guard stat(directory.appendingPathComponent(name).path, &info) == 0 else { continue }
                found.append((digest, Int64(info.st_size), info.st_mtim.tv_sec))
            }
        }
        self.index.withLock { index in
            for (digest, size, _) in found.sorted(by: { $0.2 < $1.2 }) { index.add(digest, size: size) }
        }
    }

    /// The total size of stored blobs, in bytes.
    public var storedBytes: Int64 { self.index.withLock { $0.total } }

    func touch(_ digest: Digest) {
        self.index.withLock { index in
            if index.entries[digest] != nil { index.entries[digest]!.lastUse = index.tick() }
        }
    }

    /// Applies a new `max_size` (a reload), removing least recently used blobs at once if the cache is over it.
    public func setMaxSize(_ maxSize: Int64?) {
        let victims = self.index.withLock { index -> [Digest] in
            self.limit.withLock { $0 = maxSize }
            guard let maxSize else { return [] }
            return index.victims(toFit: maxSize, keeping: nil)
        }
        for victim in victims { unlink(self.path(for: victim)) }
    }

    /// A blob was published: count it, then make room under `max_size`.
    func stored(_ digest: Digest) {
        guard let info = self.lookup(digest) else { return }
        let victims = self.index.withLock { index -> [Digest] in
            index.add(digest, size: Int64(info.size))
            guard let limit = self.maxSize else { return [] }
            return index.victims(toFit: limit, keeping: digest)
        }
        for victim in victims { unlink(self.path(for: victim)) }
    }

    /// Marks a blob as being read, so eviction leaves it alone until `endRead`.
    public func beginRead(_ digest: Digest) {
        self.index.withLock { index in
            if index.entries[digest] != nil {
                index.entries[digest]!.readers += 1
                index.entries[digest]!.lastUse = index.tick()
            }
        }
    }

    public func endRead(_ digest: Digest) {
        self.index.withLock { index in
            if let readers = index.entries[digest]?.readers, readers > 0 { index.entries[digest]!.readers -= 1 }
        }
    }
}
