import Foundation
import Logging
import NIOCore
import ProxyConfig
@testable import ProxyCore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// mirrord's control plane in process, on real files in a temporary directory: the same watcher, trigger,
/// reloader and server the daemon wires together.
final class ReloadHarness: @unchecked Sendable {
    let directory: URL
    let server: ProxyServer
    let reloader: ConfigReloader
    let trigger: ReloadTrigger
    let watcher: DirectoryWatcher

    /// How a test changes a file: every way users do, and Kubernetes does.
    enum Write { case rename, inPlace, copy, deleteAndCreate }

    /// A port picked before the first load, so every version of the listener can name it.
    let fixedPort: Int

    init(lds: (Int) -> String, cds: String, configMap: Bool = false, forcePolling: Bool = false) async throws {
        self.fixedPort = unusedPort()
        let lds = lds(self.fixedPort)
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let bootstrap: String
        if configMap {
            // A ConfigMap volume: lds.yaml -> ..data/lds.yaml, ..data -> ..2026_1 (swapped by renaming ..data_tmp).
            let first = self.directory.appendingPathComponent("..2026_1")
            try FileManager.default.createDirectory(at: first, withIntermediateDirectories: true)
            try lds.write(to: first.appendingPathComponent("lds.yaml"), atomically: true, encoding: .utf8)
            try cds.write(to: first.appendingPathComponent("cds.yaml"), atomically: true, encoding: .utf8)
            symlink("..2026_1", self.directory.appendingPathComponent("..data").path)
            symlink("..data/lds.yaml", self.directory.appendingPathComponent("lds.yaml").path)
            symlink("..data/cds.yaml", self.directory.appendingPathComponent("cds.yaml").path)
            bootstrap = """
                dynamic_resources:
                  lds_config: {path_config_source: {path: lds.yaml, watched_directory: {path: \(self.directory.path)}}}
                  cds_config: {path_config_source: {path: cds.yaml, watched_directory: {path: \(self.directory.path)}}}
                """
        } else {
            try lds.write(to: self.directory.appendingPathComponent("lds.yaml"), atomically: true, encoding: .utf8)
            try cds.write(to: self.directory.appendingPathComponent("cds.yaml"), atomically: true, encoding: .utf8)
            bootstrap = """
                dynamic_resources:
                  lds_config: {path_config_source: {path: lds.yaml}}
                  cds_config: {path_config_source: {path: cds.yaml}}
                """
        }
        let bootstrapPath = self.directory.appendingPathComponent("envoy.yaml")
        try bootstrap.write(to: bootstrapPath, atomically: true, encoding: .utf8)
        var logger = Logger(label: "mirrord.reload-test")
        logger.logLevel = .critical
        self.server = ProxyServer(group: ProxyHarness.group, logger: logger, drainTime: .seconds(5))
        self.reloader = ConfigReloader(bootstrapPath: bootstrapPath.path, server: self.server, logger: logger)
        _ = try await self.reloader.initialLoad()
        let trigger = ReloadTrigger(reloader: self.reloader)
        self.trigger = trigger
        let paths = self.reloader.watchedPaths()
        self.watcher = DirectoryWatcher(files: paths.files, extraDirectories: paths.directories, forcePolling: forcePolling) { name in
            trigger.fire(reason: name)
        }
        self.watcher.start()
    }

    func port(_ listener: String = "l0") -> Int { self.server.address(of: listener)?.port ?? 0 }
    func stat(_ name: String) -> Int { self.server.stats.value(name) ?? 0 }

    func write(_ name: String, _ text: String, _ how: Write = .rename) throws {
        let target = self.directory.appendingPathComponent(name)
        switch how {
        case .rename:
            let temporary = self.directory.appendingPathComponent(".\(name).tmp")
            try text.write(to: temporary, atomically: false, encoding: .utf8)
            rename(temporary.path, target.path)
        case .inPlace:
            let handle = try FileHandle(forWritingTo: target)
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        case .copy:
            let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-copy-\(UUID().uuidString)")
            try text.write(to: elsewhere, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/cp")
            process.arguments = [elsewhere.path, target.path]
            try process.run()
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: elsewhere)
        case .deleteAndCreate:
            try FileManager.default.removeItem(at: target)
            usleep(50_000)
            try text.write(to: target, atomically: false, encoding: .utf8)
        }
    }

    /// Kubernetes' ConfigMap update: a new timestamped directory, then `..data_tmp` renamed over `..data`.
    func swapConfigMap(lds: String, cds: String, generation: Int) throws {
        let next = self.directory.appendingPathComponent("..2026_\(generation)")
        try FileManager.default.createDirectory(at: next, withIntermediateDirectories: true)
        try lds.write(to: next.appendingPathComponent("lds.yaml"), atomically: true, encoding: .utf8)
        try cds.write(to: next.appendingPathComponent("cds.yaml"), atomically: true, encoding: .utf8)
        let temporary = self.directory.appendingPathComponent("..data_tmp").path
        symlink("..2026_\(generation)", temporary)
        rename(temporary, self.directory.appendingPathComponent("..data").path)
    }

    func stop() async {
        self.watcher.stop()
        await self.server.shutdown(drainTime: .milliseconds(200))
        try? FileManager.default.removeItem(at: self.directory)
    }
}

/// An LDS file whose one listener answers every request with `body` (a direct response), on `port` (0: any).
func directListener(_ body: String, name: String = "l0", port: Int = 0, statPrefix: String = "ingress") -> String {
    listenerYAML("""
        - name: all
          domains: ["*"]
          routes:
          - match: {prefix: "/"}
            direct_response: {status: 200, body: {inline_string: "\(body)"}}
        """).replacingOccurrences(of: "name: l0", with: "name: \(name)")
        .replacingOccurrences(of: "port_value: 0", with: "port_value: \(port)")
        .replacingOccurrences(of: "stat_prefix: ingress", with: "stat_prefix: \(statPrefix)")
}

/// Polls a request until its body is `expected` (or about five seconds pass, for a loaded CI machine);
/// returns the milliseconds it took, or -1.
@discardableResult
func waitForBody(port: Int, _ expected: String, path: String = "/") async throws -> Int {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < .seconds(5) {
        if (try? await blocking { try RawHTTPClient(port: port, timeoutSeconds: 1).request(path, host: "m").text }) == expected {
            let elapsed = ContinuousClock.now - start
            return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    return -1
}

/// An LDS file whose one listener, on `port`, routes everything to the cluster `origin`.
func routedListener(port: Int, statPrefix: String = "ingress") -> String {
    listenerYAML("""
        - name: all
          domains: ["*"]
          routes:
          - match: {prefix: "/"}
            route: {cluster: origin}
        """).replacingOccurrences(of: "port_value: 0", with: "port_value: \(port)")
        .replacingOccurrences(of: "stat_prefix: ingress", with: "stat_prefix: \(statPrefix)")
}
