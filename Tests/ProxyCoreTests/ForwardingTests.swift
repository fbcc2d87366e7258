import Foundation
import NIOCore
import NIOHTTP1
import ProxyConfig
import Synchronization
import Testing
@testable import ProxyCore
import TestSupport

/// Requests through the real data plane to in-process origins over loopback sockets.
@Suite(.serialized) struct ForwardingTests {
    static let seedDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/seed")

    @Test func seedRoutesEachVirtualHostWithItsHostRewrite() async throws {
        let gcr = TestOrigin(group: ProxyHarness.group) { _ in .echo }
        let other = TestOrigin(group: ProxyHarness.group) { _ in .echo }
        try await gcr.start()
        try await other.start()
        var lds = try String(contentsOf: Self.seedDirectory.appendingPathComponent("lds.yaml"), encoding: .utf8)
        lds = lds.replacingOccurrences(of: "port_value: 18080", with: "port_value: 0")
            .replacingOccurrences(of: "address: 0.0.0.0", with: "address: 127.0.0.1")
        var cds = try String(contentsOf: Self.seedDirectory.appendingPathComponent("cds.yaml"), encoding: .utf8)
        // Point every endpoint at a local origin; drop upstream TLS (the origins are plaintext) and the public resolver.
        cds = cds.replacingOccurrences(of: "port_value: 5000", with: "port_value: \(gcr.port)")
            .replacingOccurrences(of: "address: registry-1.docker.io    # dockerhub 对应的后端域名\n              port_value: 443",
                                  with: "address: 127.0.0.1\n              port_value: \(other.port)")
            .replacingOccurrences(of: "address: quay.io   # quay 对应的后端域名\n              port_value: 443",
                                  with: "address: 127.0.0.1\n              port_value: \(other.port)")
        var skipping = false
        cds = cds.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            if line.hasPrefix("  transport_socket:") { skipping = true }
            if line.hasPrefix("- ") { skipping = false }
            return !skipping
        }.joined(separator: "\n")
        cds = cds.replacingOccurrences(of: "address: 8.8.8.8", with: "address: 127.0.0.1")
        let proxy = try await ProxyHarness.start(lds: lds, cds: cds)
        let port = proxy.port("listener_http")
        let responses = try await blocking {
            let client = try RawHTTPClient(port: port)
            return try [("gcr.xxx.com", "gcr.xxx.com"), ("quay.xxx.com", "quay.io"), ("docker.xxx.com", "registry-1.docker.io")]
                .map { host, _ in try client.request("/v2/library/alpine/manifests/3.20", host: host) }
        }
        #expect(responses.map(\.status) == [200, 200, 200])
        #expect(responses[0].text.contains("host: gcr.xxx.com\n"))
        #expect(responses[1].text.contains("host: quay.io\n"))
        #expect(responses[1].text.contains("x-envoy-original-host: quay.xxx.com\n"))
        #expect(responses[2].text.contains("host: registry-1.docker.io\n"))
        #expect(responses.allSatisfy { $0.header("strict-transport-security") == "max-age=15552000; includeSubdomains; preload" })
        #expect(responses.allSatisfy { $0.header("server") == "envoy" })
        #expect(gcr.requests.withLock { $0.count } == 1)
        #expect(other.requests.withLock { $0.count } == 2)
        let noRoute = try await blocking { try RawHTTPClient(port: port).request("/v2/", host: "docker.xxx.com:18080") }
        #expect(noRoute.status == 404)
        #expect(proxy.stat("http.ingress_http.no_route") == 1)
        #expect(proxy.stat("cluster.quay.upstream_rq_200") == 1)
        await proxy.stop()
        await gcr.stop()
        await other.stop()
    }

    @Test func keepAliveConnectionsAreReusedBothWays() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "hello") }
        try await origin.start()
        let proxy = try await ProxyHarness.start(
            lds: catchAllListenerYAML(cluster: "origin"),
            cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let bodies = try await blocking {
            let client = try RawHTTPClient(port: port)
            return try (0..<20).map { _ in try client.request("/x", host: "a").text }
        }
        #expect(bodies == Array(repeating: "hello", count: 20))
        #expect(origin.connections.load(ordering: .relaxed) == 1)
        #expect(proxy.stat("http.ingress.downstream_cx_total") == 1)
        #expect(proxy.stat("http.ingress.downstream_rq_2xx") == 20)
        #expect(proxy.stat("cluster.origin.upstream_cx_total") == 1)
        await proxy.stop()
        await origin.stop()
    }

    @Test func requestHeadersAreRewrittenAsEnvoyDoes() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .echo }
        try await origin.start()
        let proxy = try await ProxyHarness.start(
            lds: listenerYAML("""
                - name: all
                  domains: ["*"]
                  request_headers_to_add:
                  - header: {key: x-vhost, value: v}
                  routes:
                  - match: {prefix: "/old/"}
                    route: {cluster: origin, prefix_rewrite: "/new/", host_rewrite_literal: upstream.example}
                    request_headers_to_add:
                    - header: {key: x-route, value: r}
                    request_headers_to_remove: [x-secret]
                """),
            cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let response = try await blocking {
            try RawHTTPClient(port: port).request("/old/a?b=c", host: "mirror.local:5000",
                                                  headers: [("connection", "keep-alive, x-hop"), ("x-hop", "1"),
                                                            ("x-secret", "s"), ("user-agent", "test")])
        }
        let echoed = response.text
        #expect(echoed.hasPrefix("GET /new/a?b=c\n"))
        #expect(echoed.contains("host: upstream.example\n"))
        #expect(echoed.contains("x-envoy-original-host: mirror.local:5000\n"))
        #expect(echoed.contains("x-envoy-original-path: /old/a?b=c\n"))
        #expect(echoed.contains("x-forwarded-proto: http\n"))
        #expect(echoed.contains("x-request-id: "))
        #expect(echoed.contains("x-route: r\n") && echoed.contains("x-vhost: v\n"))
        #expect(echoed.contains("x-envoy-expected-rq-timeout-ms: 15000\n"))
        #expect(!echoed.contains("x-hop") && !echoed.contains("x-secret"))
        #expect(echoed.contains("user-agent: test\n"))
        #expect(response.header("x-envoy-upstream-service-time") != nil)
        await proxy.stop()
        await origin.stop()
    }
}
