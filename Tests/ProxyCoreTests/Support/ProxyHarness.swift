import Logging
import NIOCore
import NIOPosix
import ProxyConfig
import Synchronization
import Testing
@testable import ProxyCore
import TestSupport

/// mirrord's data plane in process on 127.0.0.1, built from LDS/CDS text exactly as the daemon builds it.
struct ProxyHarness {
    let server: ProxyServer
    let set: ConfigSet

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    static func start(lds: String, cds: String) async throws -> ProxyHarness {
        let set = ConfigLoader.load(paths: ["lds.yaml", "cds.yaml"], from: InMemoryFileSource(["lds.yaml": lds, "cds.yaml": cds]))
        guard set.isValid else { throw HarnessError.invalid(set.diagnostics.blockingErrors.map(\.description)) }
        let snapshot = try ConfigSnapshot(set, version: 1)
        var logger = Logger(label: "mirrord.test")
        logger.logLevel = .warning
        let server = ProxyServer(group: Self.group, logger: logger)
        try await server.start(snapshot)
        return ProxyHarness(server: server, set: set)
    }

    func port(_ listener: String = "l0") -> Int { self.server.address(of: listener)?.port ?? 0 }

    func stat(_ name: String) -> Int { self.server.stats.value(name) ?? 0 }

    func stop(drainTime: Duration = .milliseconds(200)) async { await self.server.shutdown(drainTime: drainTime) }
}

enum HarnessError: Error { case invalid([String]) }

/// A listener whose one virtual host sends every request to `cluster`; `options` joins the route action.
func catchAllListenerYAML(cluster: String, options: String = "") -> String {
    listenerYAML("""
        - name: all
          domains: ["*"]
          routes:
          - match: {prefix: "/"}
            route: {cluster: \(cluster)\(options.isEmpty ? "" : ", " + options)}
        """)
}

/// A CDS file with one STATIC cluster per (name, port) on 127.0.0.1.
func clustersYAML(_ clusters: [(String, Int)], extra: String = "") -> String {
    "resources:\n" + clusters.map { name, port in
        """
        - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
          name: \(name)
          connect_timeout: 1s
        \(reindent(extra, 2))
          load_assignment:
            endpoints:
            - lb_endpoints:
              - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: \(port)}}}
        """
    }.joined(separator: "\n")
}


