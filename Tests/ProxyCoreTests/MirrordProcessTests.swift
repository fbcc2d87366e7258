import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The `mirrord` executable as users run it: flags, start-up log, serving, and SIGTERM with an in-flight request.
@Suite(.serialized) struct MirrordProcessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func binary(_ name: String = "mirrord") throws -> URL {
        for configuration in ["debug", "release"] {
            let url = root.appendingPathComponent(".build/\(configuration)/\(name)")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw ProcessError.notBuilt
    }

    enum ProcessError: Error { case notBuilt, noListenLine(String) }

    /// Starts mirrord on a bootstrap in a temporary directory; returns the process, its listener port and its log.
    static func launch(lds: String, cds: String, arguments: [String] = []) throws -> (Process, Int, LogPipe, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try """
            admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
            dynamic_resources:
              lds_config: {path_config_source: {path: lds.yaml}}
              cds_config: {path_config_source: {path: cds.yaml}}
            """.write(to: directory.appendingPathComponent("envoy.yaml"), atomically: true, encoding: .utf8)
        try lds.write(to: directory.appendingPathComponent("lds.yaml"), atomically: true, encoding: .utf8)
        try cds.write(to: directory.appendingPathComponent("cds.yaml"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try binary()
        process.arguments = ["-c", directory.appendingPathComponent("envoy.yaml").path, "--drain-time-s", "5"] + arguments
        let log = LogPipe()
        process.standardError = log.pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<500 {
            if let line = log.lines().first(where: { $0.contains("mirrord listening: listener l0 on ") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
                return (process, port, log, directory)
            }
            usleep(10_000)
        }
        process.terminate()
        throw ProcessError.noListenLine(log.lines().joined(separator: "\n"))
    }

    @Test func sigtermLetsTheInFlightRequestFinishThenExitsZero() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            head.uri == "/slow" ? .delay(.milliseconds(800), "finished") : .respond(.ok, [], "quick")
        }
        try await origin.start()
        let lds = catchAllListenerYAML(cluster: "origin")
        let (process, port, log, _) = try Self.launch(lds: lds, cds: clustersYAML([("origin", origin.port)]))
        let quick = try await blocking { try RawHTTPClient(port: port).request("/quick", host: "m") }
        #expect(quick.text == "quick")
        let pid = process.processIdentifier
        let slow = try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET /slow HTTP/1.1\r\nhost: m\r\n\r\n")
            usleep(200_000)
            kill(pid, SIGTERM)
            return try client.readResponse()
        }
        #expect(slow.status == 200)
        #expect(slow.text == "finished")
        #expect(slow.header("connection") == "close")
        let exited = try await blocking {
            for _ in 0..<500 where process.isRunning { usleep(10_000) }
            return !process.isRunning
        }
        #expect(exited)
        #expect(process.terminationStatus == 0)
        #expect(log.lines().contains { $0.contains("mirrord stopped") })
        #expect(throws: (any Error).self) { _ = try RawHTTPClient(port: port).request("/quick", host: "m") }
        await origin.stop()
    }

    @Test func sighupReloadsAndMirrorctlStatusReadsTheAdminEndpoint() async throws {
        let fixed = unusedPort()
        let (process, port, log, directory) = try Self.launch(lds: directListener("one", port: fixed), cds: "resources: []\n",
                                                              arguments: ["--watch", "none"])
        defer { process.terminate() }
        #expect(port == fixed)
        let temporary = directory.appendingPathComponent(".lds.tmp")
        try directListener("two", port: port).write(to: temporary, atomically: false, encoding: .utf8)
        rename(temporary.path, directory.appendingPathComponent("lds.yaml").path)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await blocking { try RawHTTPClient(port: port).request("/", host: "m").text } == "one")   // --watch none
        kill(process.processIdentifier, SIGHUP)
        #expect(try await waitForBody(port: port, "two") >= 0)
        let adminLine = log.lines().first { $0.contains("admin listening on ") } ?? ""
        let admin = String(adminLine.split(separator: " ").last ?? "")
        func mirrorctlStatus() throws -> (Int32, String) {
            let status = Process()
            status.executableURL = try Self.binary("mirrorctl")
            status.arguments = ["status", "--admin", admin]
            let output = Pipe()
            status.standardOutput = output
            try status.run()
            status.waitUntilExit()
            return (status.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        // The reloader records the success just after the new chain serves: ask again for a moment if needed.
        var (code, text) = try mirrorctlStatus()
        for _ in 0..<20 where !text.contains("2 applied") {
            try await Task.sleep(for: .milliseconds(100))
            (code, text) = try mirrorctlStatus()
        }
        #expect(code == 0)
        #expect(text.contains("state:      LIVE"))
        #expect(text.contains("reloads:    2 applied, 0 rejected, 0 failed"))
        #expect(text.contains("listener:   l0 on 127.0.0.1:\(port)"))
    }

    /// The "10,000 keep-alive requests without file descriptor or memory growth", read from the
    /// process itself (in-process tests share their memory with every other test running beside them).
    @Test func tenThousandKeepAliveRequestsLeaveMemoryAndDescriptorsFlat() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "k") }
        try await origin.start()
        let (process, port, _, _) = try Self.launch(lds: catchAllListenerYAML(cluster: "origin"),
                                                    cds: clustersYAML([("origin", origin.port)]))
        let pid = process.processIdentifier
        let (warm, done, ok) = try await blocking {
            let client = try RawHTTPClient(port: port)
            var ok = 0
            for _ in 0..<2_000 where try client.request("/k", host: "m").status == 200 { ok += 1 }
            let warm = (Self.residentKiB(pid), Self.openDescriptors(pid))
            for _ in 0..<10_000 where try client.request("/k", host: "m").status == 200 { ok += 1 }
            return (warm, (Self.residentKiB(pid), Self.openDescriptors(pid)), ok)
        }
        process.terminate()
        process.waitUntilExit()
        await origin.stop()
        #expect(ok == 12_000)
        #expect(done.1 == warm.1, "descriptors went from \(warm.1) to \(done.1)")
        #expect(done.0 - warm.0 < 2_048, "resident memory grew from \(warm.0) KiB to \(done.0) KiB over 10,000 requests")
    }

    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    static func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    @Test func validateModePrintsEnvoysLine() throws {
        let process = Process()
        process.executableURL = try Self.binary()
        let bootstrap = Self.root.appendingPathComponent("examples/quickstart/envoy.yaml").path
        process.arguments = ["-c", bootstrap, "--mode", "validate"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(text == "configuration '\(bootstrap)' OK\n")
    }
}

/// Collects a child process's log lines as they are written.
final class LogPipe: @unchecked Sendable {
    let pipe = Pipe()
    private let buffer = Mutex<String>("")

    init() {
        self.pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.buffer.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
    }

    func lines() -> [String] { self.buffer.withLock { $0.split(separator: "\n").map(String.init) } }
}
