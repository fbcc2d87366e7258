import Foundation
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

    func started(at path: String) { self.update { $0.temporaryPath = path } }
    func advanced(to written: Int) { self.update { $0.written = written } }
    func finish(_ result: Result<FileBlobStore.BlobInfo, any Error>) { self.update { $0.result = result } }

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
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await self.read(from: offset, chunkSize: chunkSize) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func read(from start: Int, chunkSize: Int, yield: ([UInt8]) -> Void) async throws {
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }
        var offset = start
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while !Task.isCancelled {
            let (path, written, result) = self.state.withLock { ($0.temporaryPath, $0.written, $0.result) }
            if fd < 0 {
                if let path { fd = open(path, O_RDONLY | O_CLOEXEC) }
                if fd < 0, case .success(let info)? = result { fd = open(info.path, O_RDONLY | O_CLOEXEC) }
                if fd < 0, case .failure(let error)? = result { throw error }
                if fd < 0 {
                    await self.changed(since: written, started: path != nil)
                    continue
                }
            }
            if offset < written {
                let count = pread(fd, &buffer, min(chunkSize, written - offset), off_t(offset))
                guard count > 0 else { throw FileBlobStore.StoreError.io("read failed at \(offset)") }
                yield(Array(buffer[..<count]))
                offset += count
                continue
            }
            switch result {
            case .success?: return
            case .failure(let error)?: throw error
            case nil: await self.changed(since: written, started: path != nil)
            }
        }
    }
}
