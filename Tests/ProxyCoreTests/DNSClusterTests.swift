import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import ProxyCore

/// DNS clusters: the cluster's own nameservers, refresh, every address (STRICT_DNS) or the first (LOGICAL_DNS).
@Suite(.serialized) struct DNSClusterTests {
    @Test func strictDNSFollowsTheCustomResolverAsItsAnswerChanges() async throws {
        let first = TestOrigin(group: ProxyHarness.group) { _ in .echo }
        let second = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "second") }
        // Two origins on one port, at two loopback addresses: DNS decides which one takes the traffic.
        try await first.start(host: "127.0.0.1")
        try await second.start(host: "127.0.0.2", port: first.port)
        let dns = TestDNSServer(["registry.test": ["127.0.0.1"]])
        try await dns.start(group: ProxyHarness.group)
        let cds = """
            resources:
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: registry
              type: STRICT_DNS
              dns_lookup_family: V4_ONLY
              dns_refresh_rate: 0.1s
              dns_resolvers: {socket_address: {address: 127.0.0.1, port_value: \(dns.port)}}
              load_assignment:
                endpoints:
                - lb_endpoints:
                  - endpoint: {address: {socket_address: {address: registry.test, port_value: \(first.port)}}}
            """
        let lds = catchAllListenerYAML(cluster: "registry", options: "auto_host_rewrite: true")
        let proxy = try await ProxyHarness.start(lds: lds, cds: cds)
        let port = proxy.port()
        let response = try await blocking { try RawHTTPClient(port: port).request("/v2/", host: "mirror") }
        #expect(response.status == 200)
        #expect(response.text.contains("host: registry.test\n"))
        #expect(proxy.stat("cluster.registry.membership_total") == 1)
        // The answer changes: within a refresh interval new connections go to the new address.
        dns.records.withLock { $0["registry.test"] = ["127.0.0.2"] }
        try await waitUntil { (try? RawHTTPClient(port: port).request("/", host: "m").text) == "second" }
        let after = try await blocking { try RawHTTPClient(port: port).request("/v2/", host: "mirror") }
        #expect(after.text == "second")
        // The pooled connection to the host the answer dropped is closed, not kept for reuse.
        #expect(first.connections.load(ordering: .relaxed) >= 1)
        try await waitUntil { first.openConnections.load(ordering: .relaxed) == 0 }
        #expect(proxy.stat("cluster.registry.membership_change") >= 1)
        // Once nothing uses it, the dropped host's counters go at a later refresh.
        let cluster = try #require(proxy.server.activeClusters().first)
        try await waitUntil { cluster.countedHosts.map(\.host) == ["127.0.0.2"] }
        #expect(cluster.countedHosts.map(\.host) == ["127.0.0.2"])
        #expect(second.openConnections.load(ordering: .relaxed) >= 1)
        #expect(dns.queries.load(ordering: .relaxed) >= 2)
        #expect(proxy.stat("cluster.registry.update_success") >= 2)
        await proxy.stop()
        await dns.stop()
        await first.stop()
        await second.stop()
    }

    @Test func logicalDNSUsesTheSystemResolver() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .echo }
        try await origin.start()
        let cds = """
            resources:
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: local
              type: LOGICAL_DNS
              dns_lookup_family: V4_ONLY
              load_assignment:
                endpoints:
                - lb_endpoints:
                  - endpoint: {address: {socket_address: {address: localhost, port_value: \(origin.port)}}}
            """
        let lds = catchAllListenerYAML(cluster: "local", options: "auto_host_rewrite: true")
        let proxy = try await ProxyHarness.start(lds: lds, cds: cds)
        let port = proxy.port()
        let response = try await blocking { try RawHTTPClient(port: port).request("/", host: "mirror") }
        #expect(response.status == 200)
        #expect(response.text.contains("host: localhost\n"))
        await proxy.stop()
        await origin.stop()
    }

    @Test func theWireFormatParsesCompressedAnswers() throws {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(UInt16(7), UInt16(0x8180), UInt16(1), UInt16(2), UInt16(0), UInt16(0))
        buffer.writeBytes([3] + Array("reg".utf8) + [4] + Array("test".utf8) + [0])
        buffer.writeMultipleIntegers(UInt16(1), UInt16(1))
        buffer.writeMultipleIntegers(UInt16(0xC00C), UInt16(5), UInt16(1), UInt32(60), UInt16(2))   // a CNAME, skipped
        buffer.writeBytes([0xC0, 0x0C])
        buffer.writeMultipleIntegers(UInt16(0xC00C), UInt16(1), UInt16(1), UInt32(60), UInt16(4))
        buffer.writeBytes([10, 0, 0, 7])
        #expect(try DNSMessage.addresses(in: &buffer, type: .a) == ["10.0.0.7"])
        var truncated = ByteBuffer(bytes: [0, 7, 0x81])
        #expect(throws: DNSError.malformedResponse) { try DNSMessage.addresses(in: &truncated, type: .a) }
    }
}
