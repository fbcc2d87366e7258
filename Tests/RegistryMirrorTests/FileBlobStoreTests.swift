import Crypto
import Foundation
import Synchronization
import Testing
@testable import RegistryMirror

/// The blob store: verified before it is visible, one fill per digest, readers from the first byte, crash-safe.
@Suite struct FileBlobStoreTests {
    static func temporaryStore() throws -> FileBlobStore {
        try FileBlobStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-blobs-\(UUID().uuidString)"))
    }

    static func digest(of bytes: [UInt8]) -> RegistryMirror.Digest {
        Digest(parsing: "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())!
    }

    /// A body delivered in chunks, optionally slowly, counting how many times it was read.
    struct Body: AsyncSequence, Sendable {
        typealias Element = [UInt8]
        let bytes: [UInt8]
        let chunk: Int
        let pause: Duration
        let reads: ReadCounter?

        struct AsyncIterator: AsyncIteratorProtocol {
            let body: Body
            var offset = 0
            mutating func next() async throws -> [UInt8]? {
                guard self.offset < self.body.bytes.count else { return nil }
                if self.offset == 0 { self.body.reads?.count.add(1, ordering: .relaxed) }
                if self.body.pause > .zero { try await Task.sleep(for: self.body.pause) }
                let end = Swift.min(self.body.bytes.count, self.offset + self.body.chunk)
                defer { self.offset = end }
                return Array(self.body.bytes[self.offset..<end])
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
    }

    @Test func aBlobIsStoredOnlyWhenItsDigestAndSizeMatch() async throws {
        let store = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let bytes = (0..<300_000).map { UInt8($0 % 251) }
        let digest = Self.digest(of: bytes)
        let info = try await store.fill(digest, expectedSize: bytes.count,
                                        body: Body(bytes: bytes, chunk: 65_536, pause: .zero, reads: nil)).result()
        #expect(info.size == bytes.count)
        #expect(store.lookup(digest) == info)
        #expect(FileManager.default.contents(atPath: info.path).map(Array.init) == bytes)
        #expect(info.path.hasSuffix("/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)"))

        var corrupted = bytes
        corrupted[1000] ^= 0xFF
        let wrong = await store.fill(Self.digest(of: bytes + [1]), expectedSize: nil,
                                     body: Body(bytes: corrupted, chunk: 65_536, pause: .zero, reads: nil))
        do {
            _ = try await wrong.result()
            Issue.record("a corrupted blob was stored")
        } catch {
            guard case FileBlobStore.StoreError.digestMismatch? = error as? FileBlobStore.StoreError else {
                Issue.record("expected a digest mismatch, got \(error)")
                return
            }
        }
        #expect(store.lookup(Self.digest(of: bytes + [1])) == nil)
        let short = Array(bytes.prefix(1000))
        let sized = await store.fill(Self.digest(of: short), expectedSize: 999,
                                     body: Body(bytes: short, chunk: 100, pause: .zero, reads: nil))
        do {
            _ = try await sized.result()
            Issue.record("a blob of the wrong size was stored")
        } catch {
            #expect(error as? FileBlobStore.StoreError == .sizeMismatch(expected: 999, actual: 1000))
        }
        // The refused fills leave no temporary behind. (The syncer may be writing its stamp through `tmp/` at
        // this moment for the blob published above, so only the fills' own files are looked for.)
        let failed = [Self.digest(of: bytes + [1]).hex, Self.digest(of: short).hex]
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.root.appendingPathComponent("tmp").path)
        #expect(leftovers.filter { name in failed.contains { name.hasPrefix($0) } }.isEmpty)
    }

    @Test func concurrentRequestsShareOneFillAndReadFromTheFirstByte() async throws {
        let store = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let bytes = (0..<1_000_000).map { UInt8(($0 * 7) % 256) }
        let digest = Self.digest(of: bytes)
        let reads = ReadCounter()
        let body = Body(bytes: bytes, chunk: 50_000, pause: .milliseconds(5), reads: reads)
        let readers = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<20 {
                group.addTask {
                    var received: [UInt8] = []
                    for try await chunk in await store.fill(digest, expectedSize: bytes.count, body: body).chunks() {
                        received += chunk
                    }
                    return received
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reads.count.load(ordering: .relaxed) == 1)
        #expect(readers.count == 20)
        #expect(readers.allSatisfy { $0 == bytes })
        #expect(store.lookup(digest)?.size == bytes.count)
        // A late reader of a finished blob reads the stored file, from any offset.
        var tail: [UInt8] = []
        for try await chunk in await store.fill(digest, expectedSize: nil, body: body).chunks(from: 999_000) { tail += chunk }
        #expect(tail == Array(bytes[999_000...]))
        #expect(reads.count.load(ordering: .relaxed) == 1)
    }

    @Test func aReaderOfAFailingFillGetsAnErrorNotACompleteBlob() async throws {
        let store = try Self.temporaryStore()
        defer { try? FileManager.default.removeItem(at: store.root) }
        let bytes = [UInt8](repeating: 7, count: 200_000)
        let claimed = Self.digest(of: [1, 2, 3])
        var received = 0
        var failed = false
        do {
            for try await chunk in await store.fill(claimed, expectedSize: nil,
                                                    body: Body(bytes: bytes, chunk: 10_000, pause: .zero, reads: nil)).chunks() {
                received += chunk.count
            }
        } catch {
            failed = error is FileBlobStore.StoreError
        }
        #expect(failed)
        #expect(received <= bytes.count)
        #expect(store.lookup(claimed) == nil)
    }

    @Test func leftoversOfAnInterruptedFillAreSweptAtStart() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-blobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try FileBlobStore(root: root)
        let leftover = root.appendingPathComponent("tmp/deadbeef.partial")
        try Data("half a blob".utf8).write(to: leftover)
        _ = try FileBlobStore(root: root)
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
    }
}

/// Counts how many times a body was read (from a reference, so copies of the body share it).
final class ReadCounter: Sendable {
    let count = Atomic<Int>(0)
}
