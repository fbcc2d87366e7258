import Crypto
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Manifests as the upstream sent them, byte for byte, with their media type.
///
/// The bytes live in the blob store (content-addressed, verified before they are published); the media type,
/// which the bytes do not always carry, lives beside them in `<root>/manifest-types/<hex>`, written before the
/// manifest is published so a stored manifest always has its type.
struct ManifestStore: Sendable {
    let blobs: FileBlobStore
    static let sizeLimit = 4 << 20

    struct Manifest: Sendable {
        var digest: Digest
        var mediaType: String
        var bytes: ByteBuffer
    }

    init(blobs: FileBlobStore) throws {
        self.blobs = blobs
        try FileManager.default.createDirectory(at: blobs.root.appendingPathComponent("manifest-types"),
                                                withIntermediateDirectories: true)
    }

    private func typePath(_ digest: Digest) -> String {
        self.blobs.root.appendingPathComponent("manifest-types/\(digest.hex)").path
    }

    func lookup(_ digest: Digest) -> Manifest? {
        guard let info = self.blobs.lookup(digest), info.size <= Self.sizeLimit,
              let type = try? String(contentsOfFile: self.typePath(digest), encoding: .utf8),
              let data = FileManager.default.contents(atPath: info.path) else { return nil }
        return Manifest(digest: digest, mediaType: type, bytes: ByteBuffer(bytes: data))
    }

    /// Verifies `bytes` against `digest` and stores them; a mismatch stores nothing.
    func store(_ bytes: ByteBuffer, digest: Digest, mediaType: String) async throws -> Manifest {
        let actual = Self.sha256(bytes)
        guard digest.algorithm == .sha256, actual == digest.hex else {
            throw FileBlobStore.StoreError.digestMismatch(expected: digest.description, actual: "sha256:" + actual)
        }
        try FileManager.default.createDirectory(at: self.blobs.root.appendingPathComponent("manifest-types"),
                                                withIntermediateDirectories: true)
        try mediaType.write(toFile: self.typePath(digest), atomically: true, encoding: .utf8)
        let chunk = Array(bytes.readableBytesView)
        let fill = await self.blobs.fill(digest, expectedSize: chunk.count, body: SingleChunk(bytes: chunk))
        _ = try await fill.result()
        return Manifest(digest: digest, mediaType: mediaType, bytes: bytes)
    }

    static func sha256(_ bytes: ByteBuffer) -> String {
        SHA256.hash(data: Array(bytes.readableBytesView)).map { String(format: "%02x", $0) }.joined()
    }
}

/// One buffer as an async sequence, for storing bytes already in memory.
struct SingleChunk: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let bytes: [UInt8]

    struct AsyncIterator: AsyncIteratorProtocol {
        var bytes: [UInt8]?
        mutating func next() async -> [UInt8]? {
            defer { self.bytes = nil }
            return self.bytes
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: self.bytes) }
}
