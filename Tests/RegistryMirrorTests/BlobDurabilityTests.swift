import Crypto
import Foundation
import Testing
@testable import RegistryMirror
#if canImport(Glibc)
import Glibc
#endif

/// Blobs are fsynced in batches after they are published; a store reopened after a power loss hashes again
/// the blobs newer than the last completed sync and removes torn ones, and trusts older ones without reading.
@Suite struct BlobDurabilityTests {
    typealias Body = FileBlobStoreTests.Body

    @Test func theSyncStampFollowsPublishedBlobsOnceFillsAreQuiet() async throws {
        let store = try FileBlobStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        #expect(BlobSyncer.stamp(root: store.root) == nil)
        let bytes = (0..<200_000).map { UInt8($0 % 253) }
        let before = Date().timeIntervalSince1970
        let info = try await store.fill(FileBlobStoreTests.digest(of: bytes), expectedSize: bytes.count,
                                        body: Body(bytes: bytes, chunk: 65_536, pause: .zero, reads: nil)).result()
        // No fill runs any more: the syncer's next poll (every 200 ms) syncs it and writes the stamp.
        var stamp: Double?
        for _ in 0..<100 where stamp == nil {
            try await Task.sleep(for: .milliseconds(50))
            stamp = BlobSyncer.stamp(root: store.root)
        }
        let synced = try #require(stamp)
        #expect(synced >= before)
        var status = stat()
        #expect(stat(info.path, &status) == 0)
        #expect(Double(status.st_mtim.tv_sec) <= synced, "the stamp must not be older than the blob it covers")
        // A fill that is still running holds the stamp back to its own start.
        let slow = (0..<100_000).map { UInt8($0 % 7) }
        let running = await store.fill(FileBlobStoreTests.digest(of: slow), expectedSize: slow.count,
                                       body: Body(bytes: slow, chunk: 10_000, pause: .milliseconds(100), reads: nil))
        let started = Date().timeIntervalSince1970
        try await Task.sleep(for: .milliseconds(150))
        await store.syncer.syncPending()
        let held = try #require(BlobSyncer.stamp(root: store.root))
        #expect(held <= started + 0.01 && held >= started - 1, "stamp \(held), the running fill began at \(started)")
        _ = try await running.result()
    }

    @Test func aBlobThatFailsToSyncHoldsTheStampBackUntilItSyncs() async throws {
        let store = try FileBlobStoreTests.temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        // A path whose open fails with something other than "gone" (a symlink loop): its fsync cannot happen.
        let path = store.root.appendingPathComponent("blobs/sha256/loop").path
        #expect(symlink(path, path) == 0)
        store.syncer.published(path)
        await store.syncer.syncPending()
        #expect(BlobSyncer.stamp(root: store.root) == nil, "a stamp covered a blob that was never synced")
        // Once the file can be synced, the retried batch goes through and the stamp is written.
        unlink(path)
        try Data("x".utf8).write(to: URL(fileURLWithPath: path))
        var stamp: Double?
        for _ in 0..<100 where stamp == nil {
            try await Task.sleep(for: .milliseconds(50))
            stamp = BlobSyncer.stamp(root: store.root)
        }
        #expect(stamp != nil)
    }

    @Test func reopeningRemovesTornBlobsNewerThanTheStampAndTrustsOlderOnes() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-durable-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try FileBlobStore(root: root)
        let good = (0..<150_000).map { UInt8($0 % 241) }
        let goodDigest = FileBlobStoreTests.digest(of: good)
        _ = try await first.fill(goodDigest, expectedSize: good.count,
                                 body: Body(bytes: good, chunk: 65_536, pause: .zero, reads: nil)).result()
        await first.syncer.syncPending()
        #expect(BlobSyncer.stamp(root: root) != nil)

        // What a power loss can leave: a published blob whose data never reached the disk (zeros, short).
        let torn = (0..<90_000).map { UInt8($0 % 13) }
        let tornDigest = FileBlobStoreTests.digest(of: torn)
        try Data(repeating: 0, count: 40_000).write(to: URL(fileURLWithPath: first.path(for: tornDigest)).creatingParent())
        // The same damage on a file older than the stamp is not looked at: blobs synced before are trusted.
        let old = (0..<80_000).map { UInt8($0 % 17) }
        let oldDigest = FileBlobStoreTests.digest(of: old)
        let oldPath = first.path(for: oldDigest)
        try Data(repeating: 0, count: 10).write(to: URL(fileURLWithPath: oldPath).creatingParent())
        var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, oldPath, &times, 0) == 0)

        let reopened = try FileBlobStore(root: root)
        #expect(reopened.removedAtOpen == 1)
        #expect(reopened.lookup(tornDigest) == nil)
        #expect(reopened.lookup(goodDigest)?.size == good.count)
        #expect(reopened.lookup(oldDigest) != nil)

        // A stamp from the future (the clock went back since) is not trusted: the damaged old file goes too.
        let stampPath = root.appendingPathComponent(BlobSyncer.stampName)
        try "\(Date().timeIntervalSince1970 + 86_400)\n".write(to: stampPath, atomically: true, encoding: .utf8)
        let afterClockJump = try FileBlobStore(root: root)
        #expect(afterClockJump.removedAtOpen == 1)
        #expect(afterClockJump.lookup(oldDigest) == nil)
        #expect(afterClockJump.lookup(goodDigest)?.size == good.count)
        try Data(repeating: 0, count: 10).write(to: URL(fileURLWithPath: oldPath))
        #expect(utimensat(AT_FDCWD, oldPath, &times, 0) == 0)

        // Without any stamp (no sync ever completed) every blob is suspect.
        try FileManager.default.removeItem(at: root.appendingPathComponent(BlobSyncer.stampName))
        let unstamped = try FileBlobStore(root: root)
        #expect(unstamped.removedAtOpen == 1)
        #expect(unstamped.lookup(oldDigest) == nil)
        #expect(unstamped.lookup(goodDigest)?.size == good.count)
    }
}

private extension URL {
    func creatingParent() throws -> URL {
        try FileManager.default.createDirectory(at: self.deletingLastPathComponent(), withIntermediateDirectories: true)
        return self
    }
}
