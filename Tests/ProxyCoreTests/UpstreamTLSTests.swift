import Foundation
import NIOHTTP1
import Synchronization
import Testing
@testable import ProxyCore
import TestSupport

/// Upstream TLS is verified by default, host name included; the opt-out is explicit.
@Suite(.serialized) struct UpstreamTLSTests {
    static func cluster(_ name: String, port: Int, tls: String, extra: String = "") -> String {
        """
        - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
          name: \(name)
          connect_timeout: 2s
          load_assignment:
            endpoints:
            - lb_endpoints:
              - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: \(port)}}}
          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        \(reindent(tls, 6))
        \(reindent(extra, 2))
        """
    }

    @Test func verificationSucceedsWithTheRightCAAndFailsOtherwise() async throws {
        let certificates = try TestCertificates.make()
        let origin = TestOrigin(group: ProxyHarness.group, tls: try certificates.serverContext()) { _ in .respond(.ok, [], "secret") }
        try await origin.start()
        let ca = "common_tls_context: {validation_context: {trusted_ca: {filename: \(certificates.caPath)}}}"
        let cds = "resources:\n" + [
            Self.cluster("good", port: origin.port, tls: "sni: localhost\n\(ca)"),
            Self.cluster("wrongname", port: origin.port, tls: "sni: registry.example.com\n\(ca)"),
            Self.cluster("systemstore", port: origin.port, tls: "sni: localhost"),
            Self.cluster("insecure", port: origin.port, tls: "sni: registry.example.com", extra: """
                typed_extension_protocol_options:
                  mirrord.upstream:
                    "@type": type.googleapis.com/mirrord.config.v1.UpstreamOptions
                    insecure_skip_tls_verify: true
                """),
        ].joined(separator: "\n")
        let lds = listenerYAML("""
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/good"}
                route: {cluster: good}
              - match: {prefix: "/wrongname"}
                route: {cluster: wrongname}
              - match: {prefix: "/systemstore"}
                route: {cluster: systemstore}
              - match: {prefix: "/insecure"}
                route: {cluster: insecure}
            """)
        let proxy = try await ProxyHarness.start(lds: lds, cds: cds)
        let port = proxy.port()
        let results = try await blocking {
            try ["/good", "/wrongname", "/systemstore", "/insecure"].map { try RawHTTPClient(port: port).request($0, host: "m") }
        }
        #expect(results.map(\.status) == [200, 503, 503, 200])
        #expect(results[0].text == "secret")
        #expect(results[1].text.contains("connection failure"))
        #expect(proxy.stat("cluster.wrongname.upstream_cx_connect_fail") == 1)
        #expect(proxy.stat("cluster.wrongname.ssl.fail_verify_san") == 1)
        #expect(proxy.stat("cluster.systemstore.ssl.connection_error") == 1)
        #expect(origin.requests.withLock { $0.map(\.head.uri) } == ["/good", "/insecure"])
        await proxy.stop()
        await origin.stop()
        try? FileManager.default.removeItem(at: certificates.directory)
    }
}
