import Foundation
import NIOCore
import Testing
@testable import ProxyCore

/// Timeouts enforced by one watchdog per downstream connection and one sweep per pool, rather than a timer per
/// request: each request's deadline still counts from that request, and idle upstream connections still close.
@Suite(.serialized) struct TimeoutTests {
    @Test func routeTimeoutOnAReusedConnectionCountsFromItsOwnRequest() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            head.uri == "/slow" ? .delay(.seconds(5), "late") : .respond(.ok, [], "fast")
        }
        try await origin.start()
        let lds = catchAllListenerYAML(cluster: "origin", options: "timeout: 2s")
        let proxy = try await ProxyHarness.start(lds: lds, cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let (first, slow, elapsed) = try await blocking {
            let client = try RawHTTPClient(port: port)
            let first = try client.request("/fast", host: "m")
            // The watchdog was armed for the first request's deadline; the second one must get its own two seconds
            // (2 s leaves a loaded machine running every suite at once room for the first request on a fresh
            // connection: 1 s was once not enough).
            Thread.sleep(forTimeInterval: 1.2)
            let start = Date()
            let slow = try client.request("/slow", host: "m")
            return (first, slow, Date().timeIntervalSince(start))
        }
        #expect(first.text == "fast")
        #expect(slow.status == 504)
        #expect(slow.text == "upstream request timeout")
        #expect(elapsed >= 1.85 && elapsed < 4.9, "timed out after \(elapsed) s, not 2 s after its own request")
        #expect(proxy.stat("cluster.origin.upstream_rq_timeout") == 1)
        await proxy.stop()
        await origin.stop()
    }

    @Test func idleUpstreamConnectionsAreReusedThenClosedAfterTheClusterIdleTimeout() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "ok") }
        try await origin.start()
        let cds = clustersYAML([("origin", origin.port)], extra: """
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                common_http_protocol_options: {idle_timeout: 0.5s}
                explicit_http_config: {http_protocol_options: {}}
            """)
        let lds = catchAllListenerYAML(cluster: "origin")
        let proxy = try await ProxyHarness.start(lds: lds, cds: cds)
        let port = proxy.port()
        // One client connection, so one event loop and one pool: back to back, one upstream connection serves
        // every request and stays open while within the timeout.
        let client = try RawHTTPClient(port: port)
        for _ in 0..<3 {
            let response = try await blocking { try client.request("/", host: "m") }
            #expect(response.text == "ok")
        }
        #expect(origin.connections.load(ordering: .relaxed) == 1)
        #expect(origin.openConnections.load(ordering: .relaxed) == 1)
        try await waitUntil { origin.openConnections.load(ordering: .relaxed) == 0 }
        #expect(origin.openConnections.load(ordering: .relaxed) == 0)
        // The origin may see the close before the proxy's own close callback has counted it.
        try await waitUntil { proxy.stat("cluster.origin.upstream_cx_active") == 0 }
        #expect(proxy.stat("cluster.origin.upstream_cx_active") == 0)
        // The next request on the same client connection dials again and is answered.
        let after = try await blocking { try client.request("/", host: "m") }
        #expect(after.text == "ok")
        #expect(origin.connections.load(ordering: .relaxed) == 2)
        await proxy.stop()
        await origin.stop()
    }
}
