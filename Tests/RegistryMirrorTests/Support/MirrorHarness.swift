import Foundation
import Logging
import NIOCore
import NIOPosix
import ProxyConfig
import ProxyCore
@testable import RegistryMirror
import TestSupport

/// mirrord with the registry filter in process on 127.0.0.1, built from LDS/CDS text as the daemon builds it.
struct MirrorHarness {
    let server: ProxyServer
    let cacheDirectory: String

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    /// An upstream registry cluster for the configuration.
    struct Upstream {
        var cluster: String
        var registryName: String
        var port: Int
        var options: String = ""
    }

    static func start(upstreams: [Upstream], hosted: String? = nil, defaultCluster: String? = nil,
                      filterOptions: String = "", cacheDirectory: String? = nil, allowPrivate: Bool = true,
                      mirrorDisabledOnDefaultRoute: Bool = false) async throws
    -> MirrorHarness {
        let cache = try cacheDirectory ?? ExternalProcess.temporaryDirectory("cache")
        var hosts = ""
        if let hosted {
            hosts += """
                - name: hosted
                  domains: ["localhost*"]
                  routes: [{match: {prefix: "/"}, route: {cluster: \(hosted), timeout: 0s}}]

                """
        }
        hosts += """
            - name: all
              domains: ["*"]
              routes: [{match: {prefix: "/"}, route: {cluster: \(defaultCluster ?? upstreams[0].cluster), timeout: 0s}\(mirrorDisabledOnDefaultRoute ? ", typed_per_filter_config: {mirrord.filters.http.registry_mirror: {\"@type\": type.googleapis.com/mirrord.config.v1.RegistryMirrorPerRoute, disabled: true}}" : "")}]
            """
        let filters = """
            - name: mirrord.filters.http.registry_mirror
              typed_config:
                "@type": type.googleapis.com/mirrord.config.v1.RegistryMirror
                cache: {path: \(cache)}
                allow_private_upstreams: \(allowPrivate)
            \(reindent(filterOptions, 4))
            \(routerFilterYAML)
            """
        let lds = listenerYAML(hosts, name: "mirror", statPrefix: "mirror", filters: filters)
        let cds = "resources:\n" + upstreams.map { upstream in
            """
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: \(upstream.cluster)
              connect_timeout: 2s
              load_assignment:
                cluster_name: \(upstream.cluster)
                endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: \(upstream.port)}}}}]}]
              typed_extension_protocol_options:
                mirrord.upstream:
                  "@type": type.googleapis.com/mirrord.config.v1.UpstreamOptions
                  registry:
                    name: \(upstream.registryName)
            \(reindent(upstream.options, 8))
            """
        }.joined(separator: "\n")
        let set = ConfigLoader.load(paths: ["lds.yaml", "cds.yaml"],
                                    from: InMemoryFileSource(["lds.yaml": lds, "cds.yaml": cds]))
        guard set.isValid else {
            throw ExternalProcess.Failure(command: "load config", status: -1,
                                          output: set.diagnostics.blockingErrors.map(\.description).joined(separator: "\n") + "\n" + lds + "\n" + cds)
        }
        var logger = Logger(label: "mirrord.test")
        logger.logLevel = .error   // the error-path tests provoke the warnings an operator would see
        let server = ProxyServer(group: Self.group, logger: logger,
                                 responderFactory: try RegistryMirrorFactory(group: Self.group, logger: logger,
                                                                             upstreamIdleTimeout: .seconds(3)))
        try await server.start(try ConfigSnapshot(set, version: 1))
        return MirrorHarness(server: server, cacheDirectory: cache)
    }

    var port: Int { self.server.address(of: "mirror")?.port ?? 0 }

    func stat(_ name: String) -> Int { self.server.stats.value(name) ?? 0 }

    func stop() async { await self.server.shutdown(drainTime: .milliseconds(100)) }
}

/// curl, the real client for the routing forms skopeo cannot produce (`?ns=`, `/<registry>/v2/...`).
enum Curl {
    struct Response: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
    }

    static func get(_ url: String, method: String = "GET", headers: [String] = [], extra: [String] = []) async throws -> Response {
        try await ExternalProcess.offPool { try self.getBlocking(url, method: method, headers: headers, extra: extra) }
    }

    static func getBlocking(_ url: String, method: String, headers: [String], extra: [String]) throws -> Response {
        let directory = try ExternalProcess.temporaryDirectory("curl")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var arguments = ["curl", "-sS", "-o", directory + "/body", "-D", directory + "/headers", "-X", method]
        if method == "HEAD" { arguments = ["curl", "-sS", "-I", "-o", directory + "/body", "-D", directory + "/headers"] }
        for header in headers { arguments += ["-H", header] }
        arguments += extra
        arguments.append(url)
        try ExternalProcess.runBlocking(arguments)
        let headerText = (try? String(contentsOfFile: directory + "/headers", encoding: .utf8)) ?? ""
        var status = 0
        var parsed: [String: String] = [:]
        for line in headerText.split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") {
                status = Int(line.split(separator: " ")[1]) ?? 0
                parsed = [:]
            } else if let colon = line.firstIndex(of: ":") {
                parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let body = method == "HEAD" ? Data() : ((try? Data(contentsOf: URL(fileURLWithPath: directory + "/body"))) ?? Data())
        return Response(status: status, headers: parsed, body: body)
    }
}
