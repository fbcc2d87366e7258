import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Makes published blobs durable in batches, off the request path, and tells a restarted store which blobs
/// a crash may have left incomplete.
///
/// Why not fsync each blob before publishing it: the writeback it forces competes with the transfers still
/// running (on two cores a cold pull of three layers took about 10 % longer), and a client never waits for
/// durability anyway — it is served from the page cache. Integrity does not rest on fsync: a blob is renamed
/// into place only after its digest matched, and after a power loss the blobs that were not yet durable are
/// hashed again when the store opens (`removeTornBlobs`), so a torn file is removed instead of served.
///
/// The syncer fsyncs each published blob and its directory once no fill is running, or five seconds after the
/// oldest unsynced one. It opens each file again by its path (fsync flushes the file whatever the descriptor, and
/// holding the writers' descriptors for seconds could exhaust them). Then it records in `<root>/synced` a time
/// before which every blob is durable: the moment the pass began, or the start of the oldest fill still running
/// then, whichever is earlier (such a fill may publish a file last modified before the pass).
final class BlobSyncer: Sendable {
    static let stampName = "synced"
    /// How long a published blob may wait for its fsync while fills keep the store busy.
    static let maxDelay: Duration = .seconds(5)
    /// Files modified this close to the stamp count as suspect: clocks and timestamps are coarse.
    static let slack: Double = 2

    private struct Pending {
        var path: String
        var since: ContinuousClock.Instant
    }

    private struct State {
        var pending: [Pending] = []
        var polling = false
    }

    private let root: URL
    private let fills: InflightFills
    private let state = Mutex(State())
    /// fsync blocks: it runs on its own serial queue, never on the cooperative pool or an event loop.
    private let queue: DispatchQueue

    init(root: URL, fills: InflightFills) {
        self.root = root
        self.fills = fills
        self.queue = DispatchQueue(label: "mirrord.blob-sync")
    }

    /// A blob was renamed into place at `path`.
    func published(_ path: String) { self.enqueue([Pending(path: path, since: .now)]) }

    /// Adds blobs to sync and makes sure a poller runs: it syncs once no fill is running, or when the oldest
    /// blob has waited `maxDelay`, and stops when nothing is left.
    private func enqueue(_ blobs: [Pending], retried: Bool = false) {
        let startPolling = self.state.withLock { state -> Bool in
            if retried { state.pending.insert(contentsOf: blobs, at: 0) } else { state.pending.append(contentsOf: blobs) }
            defer { state.polling = true }
            return !state.polling
        }
        guard startPolling else { return }
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: .milliseconds(200))
                guard let self else { return }
                let (empty, overdue) = self.state.withLock { state -> (Bool, Bool) in
                    if state.pending.isEmpty { state.polling = false }
                    return (state.pending.isEmpty, state.pending.first.map { $0.since + Self.maxDelay <= .now } ?? false)
                }
                if empty { return }
                let quiet = await self.fills.count == 0
                if overdue || quiet { await self.syncPending() }
            }
        }
    }

    /// Makes every blob published so far durable and moves the stamp forward (graceful stops, tests).
    func syncPending() async {
        let began = Date().timeIntervalSince1970
        let stamp = min(began, await self.fills.oldestStart() ?? began)
        let root = self.root
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // Taken and queued under the lock, so passes reach the serial queue in the order they took their
            // blobs: a later pass's stamp is never written before an earlier pass's blobs are synced.
            self.state.withLock { state in
                let batch = state.pending
                state.pending = []
                self.queue.async {
                    var synced = true
                    for pending in batch where !Self.syncFile(pending.path) { synced = false }
                    let directories = Set(batch.map { ($0.path as NSString).deletingLastPathComponent })
                    for directory in directories where !Self.syncDirectory(directory) { synced = false }
                    if synced {
                        Self.writeStamp(stamp, root: root)
                    } else {
                        // A failed fsync leaves the stamp where it was, and the batch is tried again with the next
                        // pass, so no later stamp can cover a blob that never reached the disk.
                        self.enqueue(batch, retried: true)
                    }
                    continuation.resume()
                }
            }
        }
    }

    /// fsync of a file by path; a blob evicted meanwhile has nothing left to keep.
    private static func syncFile(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT }
        defer { close(fd) }
        return fsync(fd) == 0
    }

    private static func syncDirectory(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT }   // evicted and removed meanwhile: nothing to keep
        defer { close(fd) }
        return fsync(fd) == 0
    }

    private static func writeStamp(_ time: Double, root: URL) {
        let path = root.appendingPathComponent(Self.stampName).path
        let temporary = root.appendingPathComponent("tmp/\(Self.stampName).\(UUID().uuidString)").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let text = Array(String(format: "%.3f\n", time).utf8)
        let complete = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == text.count && fsync(fd) == 0
        close(fd)
        guard complete, rename(temporary, path) == 0 else {
            unlink(temporary)
            return
        }
        _ = Self.syncDirectory(root.path)
    }

    /// The time before which every stored blob is durable; nil when no pass ever completed.
    static func stamp(root: URL) -> Double? {
        guard let text = try? String(contentsOfFile: root.appendingPathComponent(Self.stampName).path, encoding: .utf8)
        else { return nil }
        return Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Whether a stored file modified at `modified` (seconds since 1970) may not be durable.
    static func isSuspect(modified: Double, stamp: Double?) -> Bool {
        guard let stamp else { return true }
        return modified >= stamp - Self.slack
    }

    /// Whether the file at `path` hashes to `hex` (sha256), reading it in 1 MiB pieces.
    static func fileMatches(_ path: String, hex: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { return false }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined() == hex
    }
}

extension FileBlobStore {
    /// Hashes again every blob modified since the last completed sync (all of them when none completed) and
    /// removes those that do not match their name: what a power loss before the fsync can leave. Returns how
    /// many were removed. After a clean run this reads only the last few seconds' blobs.
    static func removeTornBlobs(_ root: URL) -> Int {
        // A stamp from the future means the clock went back since it was written: file times no longer order
        // against it, so nothing is trusted.
        let stamp = BlobSyncer.stamp(root: root).flatMap { $0 <= Date().timeIntervalSince1970 + BlobSyncer.slack ? $0 : nil }
        let base = root.appendingPathComponent("blobs/sha256")
        var removed = 0
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? [] {
            let directory = base.appendingPathComponent(prefix)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
                guard let digest = Digest(parsing: "sha256:" + name) else { continue }
                let path = directory.appendingPathComponent(name).path
                var info = stat()
                guard stat(path, &info) == 0 else { continue }
                let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
                guard BlobSyncer.isSuspect(modified: modified, stamp: stamp),
                      !BlobSyncer.fileMatches(path, hex: digest.hex) else { continue }
                unlink(path)
                removed += 1
            }
        }
        return removed
    }
}
