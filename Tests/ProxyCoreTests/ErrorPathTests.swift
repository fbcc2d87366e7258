import Foundation
import NIOCore
import NIOHTTP1
import ProxyConfig
import Synchronization
import Testing
@testable import ProxyCore
import TestSupport

/// Envoy's statuses and response flags for every way a request can fail, and local answers.
@Suite(.serialized) struct ErrorPathTests {
    static let routes = """
        - name: all
          domains: ["*"]
          routes:
          - match: {prefix: "/missing"}
            route: {cluster: not-defined}
          - match: {prefix: "/empty"}
            route: {cluster: empty}
          - match: {prefix: "/down"}
            route: {cluster: down}
          - match: {prefix: "/retry"}
            route:
              cluster: flaky
              retry_policy: {retry_on: connect-failure, num_retries: 3}
          - match: {prefix: "/slow"}
            route: {cluster: origin, timeout: 0.2s}
          - match: {prefix: "/direct"}
            direct_response: {status: 418, body: {inline_string: "I'm a teapot"}}
            response_headers_to_add:
            - header: {key: x-direct, value: "yes"}
          - match: {prefix: "/moved"}
            redirect: {host_redirect: elsewhere.example, response_code: TEMPORARY_REDIRECT}
          - match: {prefix: "/"}
            route: {cluster: origin}
        """

    static func start(origin: TestOrigin) async throws -> ProxyHarness {
        let down = unusedPort()
        var cds = clustersYAML([("origin", origin.port), ("down", down)])
        cds += """

            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: empty
              load_assignment: {endpoints: []}
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: flaky
              connect_timeout: 1s
              load_assignment:
                endpoints:
                - lb_endpoints:
                  - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: \(down)}}}
                  - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: \(origin.port)}}}
            """
        let lds = listenerYAML(Self.routes).replacingOccurrences(of: "name: r\n", with: "name: r\n          validate_clusters: false\n")
        return try await ProxyHarness.start(lds: lds, cds: cds)
    }

    @Test func localAnswersCarryEnvoysStatusesAndBodies() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            head.uri.hasPrefix("/slow") ? .delay(.seconds(2), "late") : .respond(.ok, [], "ok")
        }
        try await origin.start()
        let proxy = try await Self.start(origin: origin)
        let port = proxy.port()
        let results = try await blocking {
            try ["/missing", "/empty", "/down", "/slow", "/direct", "/moved/x?q=1", "/retry"].map { path in
                try RawHTTPClient(port: port).request(path, host: "mirror")
            }
        }
        #expect(results.map(\.status) == [503, 503, 503, 504, 418, 307, 200])
        #expect(results[1].text == "no healthy upstream")
        #expect(results[2].text == "upstream connect error or disconnect/reset before headers. reset reason: connection failure")
        #expect(results[3].text == "upstream request timeout")
        #expect(results[4].text == "I'm a teapot")
        #expect(results[4].header("x-direct") == "yes")
        #expect(results[5].header("location") == "http://elsewhere.example/moved/x?q=1")
        #expect(results[6].text == "ok")
        #expect(proxy.stat("http.ingress.no_cluster") == 1)
        #expect(proxy.stat("cluster.empty.upstream_cx_none_healthy") == 1)
        #expect(proxy.stat("cluster.down.upstream_cx_connect_fail") == 1)
        #expect(proxy.stat("cluster.flaky.upstream_rq_retry") == 1)   // round robin tries the closed port first
        #expect(proxy.stat("http.ingress.downstream_rq_timeout") == 1)
        #expect(proxy.stat("http.ingress.rq_direct_response") == 1)
        #expect(proxy.stat("http.ingress.rq_redirect") == 1)
        #expect(proxy.stat("http.ingress.downstream_rq_5xx") == 4)
        await proxy.stop()
        await origin.stop()
    }

    @Test func anUpstreamThatDiesMidBodyAbortsTheDownstreamResponse() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            head.uri == "/hangup" ? .hangUp : .truncate(length: 100_000, sent: 10_000)
        }
        try await origin.start()
        let proxy = try await Self.start(origin: origin)
        let port = proxy.port()
        let (truncated, closed, hangUp) = try await blocking {
            let client = try RawHTTPClient(port: port)
            let response = try client.request("/truncated", host: "mirror")
            return (response, client.isClosedByPeer(), try RawHTTPClient(port: port).request("/hangup", host: "mirror"))
        }
        #expect(truncated.status == 200)
        #expect(truncated.header("content-length") == "100000")
        #expect(!truncated.complete)
        #expect(truncated.body.count == 10_000)
        #expect(closed)
        #expect(hangUp.status == 503)
        #expect(hangUp.text.hasSuffix("reset reason: connection termination"))
        await proxy.stop()
        await origin.stop()
    }

    @Test func aClientThatLeavesMidBodyClosesTheUpstreamRequest() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .stream(length: 512 << 20) }
        try await origin.start()
        let proxy = try await Self.start(origin: origin)
        let port = proxy.port()
        let head = try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET /big HTTP/1.1\r\nhost: mirror\r\n\r\n")
            let head = try client.readHead()
            _ = try client.drainBody(expected: 1 << 20)
            client.close()
            return head
        }
        #expect(head.status == 200)
        try await waitUntil { proxy.stat("cluster.origin.upstream_cx_active") == 0 }
        #expect(proxy.stat("cluster.origin.upstream_cx_active") == 0)
        #expect(proxy.stat("http.ingress.downstream_rq_active") == 0)
        await proxy.stop()
        await origin.stop()
    }

    @Test func malformedAndOversizedRequestsAreRefused() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "ok") }
        try await origin.start()
        let proxy = try await Self.start(origin: origin)
        let port = proxy.port()
        let (garbage, garbageClosed, tls, big) = try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("\u{1}\u{2}NOT HTTP AT ALL\r\n\r\n")
            let garbage = try client.readResponse()
            let closed = client.isClosedByPeer()
            // A TLS ClientHello on the plaintext port, as skopeo sends first.
            let hello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03] + Array(repeating: 0x42, count: 64)
            let tlsClient = try RawHTTPClient(port: port, timeoutSeconds: 5)
            try tlsClient.send(hello)
            let tlsAnswer = (try? tlsClient.readResponse())?.status ?? (tlsClient.isClosedByPeer() ? -1 : 0)
            let large = try RawHTTPClient(port: port).request("/", host: "mirror",
                                                              headers: [("x-large", String(repeating: "a", count: 70 * 1024))])
            return (garbage.status, closed, tlsAnswer, large.status)
        }
        #expect(garbage == 400)
        #expect(garbageClosed)
        #expect(tls == 400)
        #expect(big == 431)
        // The two unparseable requests and the oversized one are counted as the 4xx answers they got.
        #expect(proxy.stat("http.ingress.downstream_rq_4xx") == 3)
        await proxy.stop()
        await origin.stop()
    }
}

/// Polls a condition for up to five seconds (effects that follow a socket close or a file change happen on
/// other threads, later on a loaded machine).
func waitUntil(_ condition: @escaping () -> Bool) async throws {
    let start = ContinuousClock.now
    while !condition(), ContinuousClock.now - start < .seconds(5) { try await Task.sleep(for: .milliseconds(10)) }
}
