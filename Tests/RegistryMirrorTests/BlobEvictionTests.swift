import Foundation
import Testing
@testable import RegistryMirror

/// `max_size`: least recently used blobs go first, a blob being read is never removed, and the sizes of what
/// a previous run stored are known after a restart.
@Suite struct BlobEvictionTests {
    static func blob(_ seed: UInt8, size: Int = 40_000) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0) &+ seed } }

    static func store(_ store: FileBlobStore, _ bytes: [UInt8]) async throws -> Digest {
        let digest = FileBlobStoreTests.digest(of: bytes)
        let body = FileBlobStoreTests.Body(bytes: bytes, chunk: 16_384, pause: .zero, reads: nil)
        _ = try await store.fill(digest, expectedSize: bytes.count, body: body).result()
        return digest
    }

    @Test func leastRecentlyUsedGoesFirstButNeverABlobBeingRead() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-evict-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try FileBlobStore(root: root, maxSize: 100_000)   // room for two 40 kB blobs
        let a = try await Self.store(store, Self.blob(1))
        let b = try await Self.store(store, Self.blob(2))
        #expect(store.lookup(a) != nil)                  // a is now more recently used than b
        let c = try await Self.store(store, Self.blob(3))
        #expect(store.lookup(b) == nil, "the least recently used blob stays")
        #expect(store.lookup(a) != nil && store.lookup(c) != nil)
        #expect(store.storedBytes == 80_000)

        store.beginRead(a)                               // a is being served: not a candidate
        store.beginRead(c)
        let d = try await Self.store(store, Self.blob(4))
        #expect(store.lookup(a) != nil && store.lookup(c) != nil, "a blob being read was removed")
        #expect(store.lookup(d) != nil)                  // over the limit until the readers finish
        store.endRead(a)
        store.endRead(c)
        let e = try await Self.store(store, Self.blob(5))
        #expect(store.lookup(e) != nil)
        #expect(store.storedBytes <= 100_000)

        // A restart reads back what is stored.
        let reopened = try FileBlobStore(root: root, maxSize: 100_000)
        #expect(reopened.storedBytes == store.storedBytes)
    }

    /// A reload that changes `max_size` keeps the open store (a fill in progress keeps its temporary file) and
    /// applies the new limit at once.
    @Test func aNewMaxSizeAppliesToTheOpenStoreWithoutLosingAFillInProgress() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-resize-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let factory = try RegistryMirrorFactory(group: MirrorHarness.group, logger: .init(label: "test"))
        let cache = try factory.cache(at: root.path, maxSize: nil)
        let a = try await Self.store(cache.blobs, Self.blob(1))
        let b = try await Self.store(cache.blobs, Self.blob(2))
        #expect(cache.blobs.lookup(b) != nil)           // b is now more recently used than a
        let slow = Self.blob(9, size: 50_000)
        let running = await cache.blobs.fill(FileBlobStoreTests.digest(of: slow), expectedSize: slow.count,
                                             body: FileBlobStoreTests.Body(bytes: slow, chunk: 10_000, pause: .milliseconds(200), reads: nil))
        try await Task.sleep(for: .milliseconds(100))

        let resized = try factory.cache(at: root.path, maxSize: 60_000)
        #expect(resized === cache, "a second store was opened on the same directory")
        #expect(cache.blobs.maxSize == 60_000)
        #expect(cache.blobs.lookup(a) == nil, "over the new limit: the least recently used blob goes at once")
        #expect(cache.blobs.lookup(b) != nil)
        #expect(try await running.result().size == slow.count, "the fill in progress was lost")
    }
}
