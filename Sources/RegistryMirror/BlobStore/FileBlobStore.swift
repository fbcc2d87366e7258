import Crypto
import Foundation
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Content-addressed blobs on the local filesystem: `<root>/blobs/sha256/<ab>/<hex>`.
///
/// A blob is written to `<root>/tmp/` while it arrives, hashed as it is written, and renamed into place only
/// when its sha256 and size match: a `kill -9` can only leave temporary files, which `init` sweeps. A power
/// loss can also tear a published blob that was not fsynced yet (`BlobSyncer` batches that): `init` hashes
/// the blobs newer than the last completed sync again and removes any that do not match. One fill per digest runs at a time however
/// many readers ask; readers of a blob being filled read the temporary file from its first byte as it grows.
public final class FileBlobStore: Sendable {
    public let root: URL
    let fills: InflightFills
    /// Makes published blobs durable in the background; see `BlobSyncer` for why not before publishing.
    let syncer: BlobSyncer
    /// Blobs found incomplete or wrong when the store opened (after a crash that came before their fsync).
    public let removedAtOpen: Int
    /// Sizes and last use of stored blobs, for `max_size` eviction.
    let index: Mutex<BlobIndex>
    /// `max_size`; a reload may change it on the running store (a second store on the same directory would sweep
    /// the temporary files of fills still running).
    public var maxSize: Int64? { self.limit.withLock { $0 } }
    let limit: Mutex<Int64?>

    public enum StoreError: Error, Sendable, Equatable {
        case digestMismatch(expected: String, actual: String)
        case sizeMismatch(expected: Int, actual: Int)
        case unsupportedAlgorithm(String)
        case io(String)
    }

    /// What a finished blob is: where it lives and how long it is.
    public struct BlobInfo: Sendable, Equatable {
        public var digest: Digest
        public var path: String
        public var size: Int
    }

    public init(root: URL, maxSize: Int64? = nil) throws {
        self.root = root
        self.limit = Mutex(maxSize)
        self.index = Mutex(BlobIndex())
        let fills = InflightFills()
        self.fills = fills
        self.syncer = BlobSyncer(root: root, fills: fills)
        for directory in ["blobs/sha256", "tmp"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        Self.sweep(root)
        self.removedAtOpen = Self.removeTornBlobs(root)
        self.loadIndex()
    }

    /// Removes what an interrupted fill left behind; only complete, verified blobs live outside `tmp/`.
    static func sweep(_ root: URL) {
        let temporary = root.appendingPathComponent("tmp")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] {
            try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
        }
    }

    /// The only way a path is made from a digest: from a parsed `Digest`, never from request text.
    public func path(for digest: Digest) -> String {
        let hex = digest.hex
        return self.root.appendingPathComponent("blobs/sha256/\(hex.prefix(2))/\(hex)").path
    }

    /// The blob when it is complete in the store.
    public func lookup(_ digest: Digest) -> BlobInfo? {
        let path = self.path(for: digest)
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        self.touch(digest)
        return BlobInfo(digest: digest, path: path, size: Int(info.st_size))
    }

    /// Where a blob's bytes come from: what the upstream said its size is, and the bytes.
    public struct BlobSource: Sendable {
        public var expectedSize: Int?
        public var body: AsyncThrowingStream<ByteBuffer, any Error>
        /// Told why the bytes were refused (digest or size mismatch, a broken body), for the source's stats.
        public var onFailure: (@Sendable (any Error) -> Void)?

        public init(expectedSize: Int?, body: AsyncThrowingStream<ByteBuffer, any Error>,
                    onFailure: (@Sendable (any Error) -> Void)? = nil) {
            self.expectedSize = expectedSize
            self.body = body
            self.onFailure = onFailure
        }
    }

    /// Stores `digest` unless it is already stored or being stored, and returns the fill every caller shares.
    /// `fetch` runs only for the first caller, in the fill's own task: a caller that goes away stops nothing,
    /// and concurrent callers cause one upstream fetch.
    public func fill(_ digest: Digest, fetch: @escaping @Sendable () async throws -> BlobSource) async -> BlobFill {
        if let info = self.lookup(digest) { return BlobFill(completed: info) }
        return await self.fills.fill(for: digest) { fill in
            Task {
                var source: BlobSource?
                do {
                    source = try await fetch()
                    let info = try await self.write(digest, expectedSize: source!.expectedSize, body: source!.body,
                                                    progress: fill)
                    self.stored(digest)
                    fill.finish(.success(info))
                } catch {
                    source?.onFailure?(error)
                    fill.finish(.failure(error))
                }
                await self.fills.remove(digest)
            }
        }
    }

    /// Stores `digest` from `body` (tests and local sources); see `fill(_:fetch:)`.
    public func fill<Body: AsyncSequence & Sendable>(_ digest: Digest, expectedSize: Int?, body: Body) async -> BlobFill
    where Body.Element: BlobChunk {
        if let info = self.lookup(digest) { return BlobFill(completed: info) }
        return await self.fills.fill(for: digest) { fill in
            Task {
                do {
                    let info = try await self.write(digest, expectedSize: expectedSize, body: body, progress: fill)
                    self.stored(digest)
                    fill.finish(.success(info))
                } catch {
                    fill.finish(.failure(error))
                }
                await self.fills.remove(digest)
            }
        }
    }

    /// Bytes at the end of a blob that readers see only once the whole blob verified: a client streaming a
    /// fill never receives a complete response with wrong content, only a truncated one.
    static let withheldTail = 64 * 1024

    private func write<Body: AsyncSequence>(_ digest: Digest, expectedSize: Int?, body: Body, progress: BlobFill) async throws
    -> BlobInfo where Body.Element: BlobChunk {
        guard digest.algorithm == .sha256 else { throw StoreError.unsupportedAlgorithm(digest.algorithm.rawValue) }
        let temporary = self.root.appendingPathComponent("tmp/\(digest.hex).\(UUID().uuidString)").path
        var fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0, errno == ENOENT {
            // The cache directory was removed under us (an operator clearing it): make it again.
            try? FileManager.default.createDirectory(at: self.root.appendingPathComponent("tmp"), withIntermediateDirectories: true)
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else { throw StoreError.io("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        progress.started(at: temporary, expectedSize: expectedSize)
        var hasher = SHA256()
        var written = 0
        do {
            for try await chunk in body {
                try chunk.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let count = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                        guard count > 0 else { throw StoreError.io("write failed: \(String(cString: strerror(errno)))") }
                        offset += count
                    }
                    hasher.update(bufferPointer: bytes)
                }
                written += chunk.count
                progress.advanced(to: max(0, written - Self.withheldTail))
                if let expectedSize, written > expectedSize { throw StoreError.sizeMismatch(expected: expectedSize, actual: written) }
            }
            let actual = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            guard actual == digest.hex else { throw StoreError.digestMismatch(expected: digest.hex, actual: actual) }
            if let expectedSize, written != expectedSize { throw StoreError.sizeMismatch(expected: expectedSize, actual: written) }
            // Verified: readers may have the tail now; the blob is published below, its fsync comes later in a
            // batch (`BlobSyncer`).
            progress.advanced(to: written)
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        let final = self.path(for: digest)
        let directory = (final as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, final) == 0 else {
            unlink(temporary)
            throw StoreError.io("cannot move the blob into place: \(String(cString: strerror(errno)))")
        }
        self.syncer.published(final)
        return BlobInfo(digest: digest, path: final, size: written)
    }
}

/// One digest's fills in progress, so concurrent requests for a blob share one upstream fetch.
actor InflightFills {
    private var fills: [Digest: (fill: BlobFill, started: Double)] = [:]

    func fill(for digest: Digest, start: (BlobFill) -> Void) -> BlobFill {
        if let existing = self.fills[digest] { return existing.fill }
        let fill = BlobFill()
        self.fills[digest] = (fill, Date().timeIntervalSince1970)
        start(fill)
        return fill
    }

    func remove(_ digest: Digest) { self.fills[digest] = nil }

    var count: Int { self.fills.count }

    /// When the oldest fill still running began (seconds since 1970): its file may be older than a sync pass.
    func oldestStart() -> Double? { self.fills.values.map(\.started).min() }
}

/// A piece of a blob as it arrives: bytes from the network (`ByteBuffer`) or from memory (`[UInt8]`), written
/// and hashed in place without another copy.
public protocol BlobChunk: Sendable {
    var count: Int { get }
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: BlobChunk where Element == UInt8 {}

extension ByteBuffer: BlobChunk {
    public var count: Int { self.readableBytes }
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.withUnsafeReadableBytes(body)
    }
}
