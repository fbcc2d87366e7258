import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
@testable import RegistryMirror
#if canImport(Glibc)
import Glibc
#endif

/// The upstream client reads ahead of its consumer only up to a bound, and still cuts an upstream that goes
/// silent — also on a connection that sat idle in the pool for longer than the timeout.
@Suite struct UpstreamReadAheadTests {
    static let bodySize = 8 * 1024 * 1024

    @Test func readAheadIsBoundedAndSilenceAfterPoolIdleTimesOut() async throws {
        let server = try ScriptedServer(bodySize: Self.bodySize)
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = try RegistryHTTPClient(group: group, idleTimeout: .milliseconds(600))
        let url = URL(string: "http://127.0.0.1:\(server.port)/blob")!
        let policy = AddressPolicy(allowPrivate: true)

        let response = try await client.send(.GET, url: url, headers: [:], policy: policy)
        #expect(response.status == 200)
        var received = try await response.nextChunk()?.readableBytes ?? 0
        // The consumer pauses: the loop reads ahead, then stops at the bound however much the server has sent.
        try await Task.sleep(for: .milliseconds(300))
        let queued = response.connection.queue.queuedBytes
        #expect(queued > 0, "nothing was read ahead")
        #expect(queued <= ResponsePartQueue.highWater + ResponsePartQueue.oneReadCycle, "read ahead \(queued) bytes")
        while let chunk = try await response.nextChunk() { received += chunk.readableBytes }
        #expect(received == Self.bodySize)

        // The connection idles in the pool past the timeout; the server then never answers the next request.
        try await Task.sleep(for: .milliseconds(900))
        let started = ContinuousClock.now
        await #expect(throws: UpstreamFetchError.self) {
            // Bounded here, so a client that never cuts fails the test instead of hanging it.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await client.send(.GET, url: url, headers: [:], policy: policy) }
                group.addTask { try await Task.sleep(for: .seconds(8)) }
                try await group.next()
                group.cancelAll()
            }
        }
        let waited = ContinuousClock.now - started
        // Cut after about the timeout, not at once (the silence counts from the request) and not never;
        // the client retries a reused connection once on a fresh one, so up to two timeouts.
        #expect(waited >= .milliseconds(500), "cut after \(waited)")
        #expect(waited < .seconds(5), "cut after \(waited)")
        client.closeIdle()
        try await group.shutdownGracefully()
    }
}

/// A raw HTTP/1.1 server on its own thread: the first request anywhere gets a `bodySize` body written as fast
/// as the socket takes it; every later request is read and never answered.
private final class ScriptedServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let answered = Atomic<Bool>(false)
    private let bodySize: Int

    init(bodySize: Int) throws {
        self.bodySize = bodySize
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(listener, raw, length) == 0 && listen(listener, 8) == 0
                    && getsockname(listener, raw, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { self.acceptLoop() }
    }

    func stop() { shutdown(self.listener, Int32(SHUT_RDWR)); close(self.listener) }

    private func acceptLoop() {
        while true {
            let fd = accept(self.listener, nil, nil)
            guard fd >= 0 else { return }
            Thread.detachNewThread { self.serve(fd) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pending: [UInt8] = []
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            pending += buffer[0..<count]
            guard let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
            pending.removeSubrange(0..<end.upperBound)
            guard !self.answered.exchange(true, ordering: .relaxed) else { continue }   // later requests: silence
            let head = Array("HTTP/1.1 200 OK\r\nContent-Length: \(self.bodySize)\r\n\r\n".utf8)
            guard writeAll(fd, head) else { return }
            let chunk = [UInt8](repeating: 0x61, count: 64 * 1024)
            for _ in 0..<(self.bodySize / chunk.count) { guard writeAll(fd, chunk) else { return } }
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return false }
            offset += count
        }
        return true
    }
}
