import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the real tools the registry tests drive (skopeo, tar, openssl, docker-registry) and finds free ports.
enum ExternalProcess {
    struct Failure: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        let output: String
        var description: String { "\(self.command) exited \(self.status): \(self.output)" }
    }

    /// Runs `arguments` to completion on a thread of its own; throws with its output when it fails.
    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: String? = nil) async throws
    -> String {
        try await self.offPool { try self.runBlocking(arguments, environment: environment, in: directory) }
    }

    /// `run` for code already on a thread of its own (never from a task: it would hold a cooperative thread,
    /// which the in-process mirror and every other suite running in parallel need).
    @discardableResult
    static func runBlocking(_ arguments: [String], environment: [String: String] = [:], in directory: String? = nil) throws
    -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(command: arguments.joined(separator: " "), status: process.terminationStatus, output: text)
        }
        return text
    }

    /// Runs `body` on a thread of its own: a test must never block the cooperative pool, which the in-process
    /// mirror needs to answer the very client the test is waiting for (GCD's global queue would also run only
    /// as many blocking bodies at once as there are cores).
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.start()
        }
    }

    /// Whether tests needing `tools` may run: when they are installed, and always under scripts/test.sh
    /// (MIRRORD_REQUIRE_TOOLS), where a missing tool must fail the tests rather than skip them.
    static func available(_ tools: String...) -> Bool {
        if ProcessInfo.processInfo.environment["MIRRORD_REQUIRE_TOOLS"] == "1" { return true }
        return tools.allSatisfy { (try? self.runBlocking(["sh", "-c", "command -v \($0)"])) != nil }
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "mirrord-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A long-running child process (a registry), stopped when the test is done with it.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let log: String

    init(_ arguments: [String], log: String) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        self.process.arguments = arguments
        self.process.standardOutput = handle
        self.process.standardError = handle
        try self.process.run()
    }

    func stop() {
        guard self.process.isRunning else { return }
        self.process.terminate()
        self.process.waitUntilExit()
    }

    deinit { self.stop() }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
func waitForPort(_ port: Int, timeout: Duration = .seconds(10)) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        close(fd)
        if connected { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw ExternalProcess.Failure(command: "wait for port \(port)", status: -1, output: "nothing listening")
}
