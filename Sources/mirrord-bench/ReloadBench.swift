import Foundation
import Logging
import NIOPosix
import ProxyConfig
import ProxyCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reloads under load: `clients` keep-alive connections send requests without pause while the LDS/CDS files
/// are rewritten `reloads` times, alternating a route change, a cluster change and a listener change. Reports
/// failed requests, how long each change took to become visible to a client, and descriptors and memory.
enum ReloadBench {
    static func run(reloads: Int, clients: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-reload-bench-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = 20_300 + Int(getpid() % 500)
        func lds(_ version: Int, prefix: String) -> String {
            """
            resources:
            - "@type": type.googleapis.com/envoy.config.listener.v3.Listener
              name: bench
              address: {socket_address: {address: 127.0.0.1, port_value: \(port)}}
              filter_chains:
              - filters:
                - name: envoy.filters.network.http_connection_manager
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                    stat_prefix: \(prefix)
                    route_config:
                      virtual_hosts:
                      - name: all
                        domains: ["*"]
                        routes:
                        - match: {prefix: "/"}
                          direct_response: {status: 200, body: {inline_string: "v\(version)"}}
                    http_filters:
                    - name: envoy.filters.http.router
                      typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
            """
        }
        func cds(_ timeout: Int) -> String {
            """
            resources:
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: spare
              connect_timeout: \(timeout)s
              load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}}]}]}
            """
        }
        func write(_ name: String, _ text: String) {
            let temporary = directory.appendingPathComponent(".\(name).tmp")
            try? text.write(to: temporary, atomically: false, encoding: .utf8)
            rename(temporary.path, directory.appendingPathComponent(name).path)
        }
        write("lds.yaml", lds(0, prefix: "p0"))
        write("cds.yaml", cds(1))
        let bootstrap = directory.appendingPathComponent("envoy.yaml")
        try "dynamic_resources:\n  lds_config: {path_config_source: {path: lds.yaml}}\n  cds_config: {path_config_source: {path: cds.yaml}}\n"
            .write(to: bootstrap, atomically: true, encoding: .utf8)
        var logger = Logger(label: "reload-bench")
        logger.logLevel = ProcessInfo.processInfo.environment["BENCH_VERBOSE"] == nil ? .error : .notice
        let server = ProxyServer(group: MultiThreadedEventLoopGroup.singleton, logger: logger, drainTime: .seconds(5))
        let reloader = ConfigReloader(bootstrapPath: bootstrap.path, server: server, logger: logger)
        _ = try await reloader.initialLoad()
        let trigger = ReloadTrigger(reloader: reloader, quietPeriod: .milliseconds(5))
        let paths = reloader.watchedPaths()
        let watcher = DirectoryWatcher(files: paths.files) { _ in trigger.fire(reason: "bench") }
        watcher.start()

        let load = Load(port: port)
        let threads = (0..<4).map { index in Thread { load.client(count: clients / 4 + (index < clients % 4 ? 1 : 0)) } }
        threads.forEach { $0.start() }
        try await Task.sleep(for: .milliseconds(300))
        let descriptorsBefore = Self.descriptors(), rssBefore = Self.rssKiB()
        var latencies: [Double] = []
        var timeout = 1
        var prefix = 0
        for version in 1...reloads {
            let kind = version % 3
            if kind == 1 {
                timeout = timeout % 30 + 1
                write("cds.yaml", cds(timeout))
            }
            if kind == 2 { prefix += 1 }
            let started = ContinuousClock.now
            write("lds.yaml", lds(version, prefix: "p\(prefix)"))
            while load.newestVersion.load(ordering: .relaxed) < version, ContinuousClock.now - started < .seconds(5) {
                try await Task.sleep(for: .microseconds(200))
            }
            let elapsed = ContinuousClock.now - started
            if elapsed >= .seconds(5) {
                print("version \(version) (kind \(kind)) not visible after 5 s; newest seen v\(load.newestVersion.load(ordering: .relaxed))")
            }
            latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            try await Task.sleep(for: .milliseconds(10))
        }
        // Let drained chains finish, then measure under the same load as at the start.
        try await Task.sleep(for: .milliseconds(500))
        let descriptorsAfter = Self.descriptors(), rssAfter = Self.rssKiB()
        load.stop.store(true, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(300))
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(String(format: "%d reloads (route, cluster+route, listener+route in turn) with %d keep-alive clients", reloads, clients))
        print(String(format: "requests %d, failed %d, reconnects after Connection: close %d",
                     load.requests.load(ordering: .relaxed), load.failures.load(ordering: .relaxed),
                     load.reconnects.load(ordering: .relaxed)))
        print(String(format: "change visible to a client after the file rename: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     percentile(0.5), percentile(0.99), latencies.last ?? 0))
        print("under load, before and after: descriptors \(descriptorsBefore) -> \(descriptorsAfter), RSS \(rssBefore / 1024) -> \(rssAfter / 1024) MiB")
        let stats = server.stats
        print("reloads applied \(stats.value("listener_manager.lds.update_success") ?? 0), rejected \(stats.value("listener_manager.lds.update_rejected") ?? 0), failed \(stats.value("listener_manager.lds.update_failure") ?? 0)")
        watcher.stop()
        await server.shutdown(drainTime: .milliseconds(100))
        try? FileManager.default.removeItem(at: directory)
    }

    static func descriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }

    static func rssKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// Keep-alive clients on plain sockets: each sends a request, reads the answer, and reconnects only when the
    /// proxy closed the connection after a response (a drained listener); anything else is a failure.
    final class Load: Sendable {
        let port: Int
        let stop = Atomic<Bool>(false)
        let requests = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let reconnects = Atomic<Int>(0)
        let newestVersion = Atomic<Int>(0)

        init(port: Int) { self.port = port }

        func connect() -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(self.port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if result != 0 {
                close(fd)
                return -1
            }
            return fd
        }

        /// One thread drives `count` keep-alive connections: a request on each, then each answer, in turn.
        /// Four such threads instead of 64 keep the load generator from starving the proxy's threads.
        func client(count: Int) {
            var sockets = (0..<count).map { _ in self.connect() }
            let request = Array("GET / HTTP/1.1\r\nhost: bench\r\n\r\n".utf8)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !self.stop.load(ordering: .relaxed) {
                var sent = [Bool](repeating: false, count: count)
                for index in 0..<count where sockets[index] >= 0 {
                    sent[index] = request.withUnsafeBytes { send(sockets[index], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } > 0
                }
                for index in 0..<count {
                    let fd = sockets[index]
                    let received = sent[index] ? recv(fd, &buffer, buffer.count, 0) : -1
                    guard received > 0 else {
                        // Refused, reset, or closed before an answer: a failure (drained connections close after a response).
                        self.failures.add(1, ordering: .relaxed)
                        if fd >= 0 { close(fd) }
                        sockets[index] = self.connect()
                        continue
                    }
                    let text = String(decoding: buffer[..<received], as: UTF8.self)
                    guard text.hasPrefix("HTTP/1.1 200") else {
                        self.failures.add(1, ordering: .relaxed)
                        continue
                    }
                    self.requests.add(1, ordering: .relaxed)
                    if let range = text.range(of: "\r\n\r\nv"), let version = Int(text[range.upperBound...]) {
                        var current = self.newestVersion.load(ordering: .relaxed)
                        while version > current {
                            let (exchanged, original) = self.newestVersion.compareExchange(
                                expected: current, desired: version, ordering: .relaxed)
                            if exchanged { break }
                            current = original
                        }
                    }
                    if text.lowercased().contains("\r\nconnection: close") {
                        self.reconnects.add(1, ordering: .relaxed)
                        close(fd)
                        sockets[index] = self.connect()
                    }
                }
            }
            for fd in sockets where fd >= 0 { close(fd) }
        }
    }
}
