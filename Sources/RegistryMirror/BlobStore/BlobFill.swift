import Foundation
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A blob being written to the store, shared by everyone who asked for it while it arrives.
///
/// Readers stream it from the temporary file from the first byte, as fast as it is written; a reader that
/// opened the temporary file keeps reading it after the rename (same inode). A fill that fails (digest or size
/// mismatch, upstream error) fails every reader, and nothing is stored.
public final class BlobFill: Sendable {
    struct State {
        var temporaryPath: String?
        var expectedSize: Int?
        var written = 0
        var result: Result<FileBlobStore.BlobInfo, any Error>?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init() { self.state = Mutex(State()) }

    init(completed info: FileBlobStore.BlobInfo) {
        var state = State()
        state.written = info.size
        state.result = .success(info)
        self.state = Mutex(state)
    }

    func started(at path: String, expectedSize: Int?) {
        self.update {
            $0.temporaryPath = path
            $0.expectedSize = expectedSize
        }
    }
    func advanced(to written: Int) { self.update { $0.written = written } }
    func finish(_ result: Result<FileBlobStore.BlobInfo, any Error>) {
        self.update { state in
            state.result = result
            if case .success(let info) = result { state.written = info.size }
        }
    }

    var succeeded: Bool { self.state.withLock { if case .success? = $0.result { true } else { false } } }

    /// The blob's size as soon as it is known: the upstream's declared length once the fill started, else the
    /// stored size at the end. Throws if the fill failed before it started.
    public func size() async throws -> Int? {
        while true {
            let (result, expected, written, started) = self.state.withLock {
                ($0.result, $0.expectedSize, $0.written, $0.temporaryPath != nil)
            }
            if let result { return try result.get().size }
            if started, let expected { return expected }
            if started { return nil }
            await self.changed(since: written, started: started)
        }
    }

    private func update(_ change: (inout State) -> Void) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            change(&state)
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until something changes (more bytes, start, or the end).
    private func changed(since written: Int, started: Bool) async {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state -> Bool in
                if state.result != nil || state.written != written || (state.temporaryPath != nil) != started { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// The stored blob, once the fill has ended.
    public func result() async throws -> FileBlobStore.BlobInfo {
        while true {
            let (result, written, started) = self.state.withLock { ($0.result, $0.written, $0.temporaryPath != nil) }
            if let result { return try result.get() }
            await self.changed(since: written, started: started)
        }
    }

    /// The blob's bytes from `offset`, as they become available; throws if the fill fails.
    public func chunks(from offset: Int = 0, chunkSize: Int = 128 * 1024) -> AsyncThrowingStream<[UInt8], any Error> {
        let reader = BlobReader(self)
        let position = Atomic<Int>(offset)
        return AsyncThrowingStream {
            let start = position.load(ordering: .relaxed)
            let bytes = try await reader.read(at: start, upTo: chunkSize)
            if bytes.readableBytes == 0 { return nil }
            position.store(start + bytes.readableBytes, ordering: .relaxed)
            return Array(bytes.readableBytesView)
        }
    }

    /// Where a reader stands: the file to read (temporary while filling), how much of it is readable, the end.
    func snapshot() -> (path: String?, written: Int, result: Result<FileBlobStore.BlobInfo, any Error>?) {
        self.state.withLock { ($0.temporaryPath, $0.written, $0.result) }
    }

    func waitForChange(since written: Int, started: Bool) async { await self.changed(since: written, started: started) }
}

/// Reads a blob, stored or still arriving, at any offset: waits for bytes not written yet, keeps one file open.
/// A reader that opened the temporary file keeps reading it after the rename (same inode).
public final class BlobReader: Sendable {
    private let fill: BlobFill
    private let descriptor = Mutex<Int32>(-1)

    public init(_ fill: BlobFill) { self.fill = fill }

    deinit {
        let fd = self.descriptor.withLock { $0 }
        if fd >= 0 { close(fd) }
    }

    /// The readable extent from `offset`: a descriptor of the file (a duplicate the caller owns) and where the
    /// readable bytes end, waiting until there is at least one; `end == offset` at the end of the blob.
    public func extent(at offset: Int) async throws -> (descriptor: Int32, end: Int) {
        while !Task.isCancelled {
            let (path, written, result) = self.fill.snapshot()
            let fd = try await self.descriptor(path: path, written: written, result: result)
            guard let fd else { continue }
            if offset < written || result != nil {
                if offset >= written, case .failure(let error)? = result { throw error }
                let copy = dup(fd)
                guard copy >= 0 else { throw FileBlobStore.StoreError.io("dup failed") }
                return (copy, max(offset, written))
            }
            await self.fill.waitForChange(since: written, started: path != nil)
        }
        throw CancellationError()
    }

    /// The open file, opening it the first time (nil: nothing to open yet, after waiting for a change).
    private func descriptor(path: String?, written: Int, result: Result<FileBlobStore.BlobInfo, any Error>?) async throws -> Int32? {
        var fd = self.descriptor.withLock { $0 }
        if fd >= 0 { return fd }
        if let path { fd = open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0, case .success(let info)? = result { fd = open(info.path, O_RDONLY | O_CLOEXEC) }
        if fd < 0, case .failure(let error)? = result { throw error }
        if fd < 0 {
            await self.fill.waitForChange(since: written, started: path != nil)
            return nil
        }
        self.descriptor.withLock { $0 = fd }
        return fd
    }

    /// Up to `count` bytes at `offset`; empty at the end of the blob. Throws if the fill failed.
    public func read(at offset: Int, upTo count: Int) async throws -> ByteBuffer {
        while !Task.isCancelled {
            let (path, written, result) = self.fill.snapshot()
            var fd = self.descriptor.withLock { $0 }
            if fd < 0 {
                if let path { fd = open(path, O_RDONLY | O_CLOEXEC) }
                if fd < 0, case .success(let info)? = result { fd = open(info.path, O_RDONLY | O_CLOEXEC) }
                if fd < 0, case .failure(let error)? = result { throw error }
                if fd < 0 {
                    await self.fill.waitForChange(since: written, started: path != nil)
                    continue
                }
                self.descriptor.withLock { $0 = fd }
            }
            if offset < written {
                let wanted = min(count, written - offset)
                var buffer = ByteBufferAllocator().buffer(capacity: wanted)
                let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer in
                    max(0, pread(fd, pointer.baseAddress!, wanted, off_t(offset)))
                }
                guard got > 0 else { throw FileBlobStore.StoreError.io("read failed at \(offset)") }
                return buffer
            }
            switch result {
            case .success?: return ByteBuffer()
            case .failure(let error)?: throw error
            case nil: await self.fill.waitForChange(since: written, started: path != nil)
            }
        }
        throw CancellationError()
    }
}
