import Foundation
import NIOCore
import NIOHTTP1
import ProxyConfig
import Synchronization
import Testing
@testable import ProxyCore
import TestSupport

/// Retries before any byte reached the client, circuit breakers, and load balancing.
@Suite(.serialized) struct RetryAndLimitTests {
    @Test func a5xxIsRetriedWhenThePolicySaysSo() async throws {
        let calls = Atomic<Int>(0)
        let origin = TestOrigin(group: ProxyHarness.group) { _ in
            calls.add(1, ordering: .relaxed).oldValue == 0 ? .respond(.serviceUnavailable, [], "busy") : .respond(.ok, [], "fine")
        }
        try await origin.start()
        let lds = listenerYAML("""
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/retry"}
                route: {cluster: origin, retry_policy: {retry_on: "5xx", num_retries: 2}}
              - match: {prefix: "/"}
                route: {cluster: origin}
            """)
        let proxy = try await ProxyHarness.start(lds: lds, cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let retried = try await blocking { try RawHTTPClient(port: port).request("/retry", method: "POST", host: "m", body: "payload") }
        #expect(retried.status == 200)
        #expect(retried.text == "fine")
        #expect(origin.requests.withLock { $0.map { String(decoding: $0.body, as: UTF8.self) } } == ["payload", "payload"])
        #expect(proxy.stat("cluster.origin.upstream_rq_retry") == 1)
        calls.store(0, ordering: .relaxed)
        let plain = try await blocking { try RawHTTPClient(port: port).request("/plain", host: "m") }
        #expect(plain.status == 503)   // no policy on this route: the upstream's answer goes through
        #expect(plain.text == "busy")
        await proxy.stop()
        await origin.stop()
    }

    @Test func gatewayErrorsAndListedStatusCodesAreRetriedAndOthersAreNot() async throws {
        // Each path fails its first attempt with the status in its name, then answers 200.
        let attempts = Mutex<[String: Int]>([:])
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            let attempt = attempts.withLock { counts in
                counts[head.uri, default: 0] += 1
                return counts[head.uri]!
            }
            guard attempt == 1, let code = Int(head.uri.split(separator: "/").last ?? "") else { return .respond(.ok, [], "fine") }
            return .respond(HTTPResponseStatus(statusCode: code), [], "failed")
        }
        try await origin.start()
        let lds = listenerYAML("""
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/gateway"}
                route: {cluster: origin, retry_policy: {retry_on: gateway-error, num_retries: 1}}
              - match: {prefix: "/codes"}
                route:
                  cluster: origin
                  retry_policy: {retry_on: retriable-status-codes, retriable_status_codes: [409], num_retries: 1}
            """)
        let proxy = try await ProxyHarness.start(lds: lds, cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let answers = try await blocking {
            try ["/gateway/503", "/gateway/500", "/codes/409", "/codes/503"].map { path in
                let response = try RawHTTPClient(port: port).request(path, host: "m")
                return "\(path) \(response.status) \(response.text)"
            }
        }
        #expect(answers == ["/gateway/503 200 fine", "/gateway/500 500 failed", "/codes/409 200 fine", "/codes/503 503 failed"])
        #expect(proxy.stat("cluster.origin.upstream_rq_retry") == 2)
        await proxy.stop()
        await origin.stop()
    }

    @Test func requestsOverTheCircuitBreakerGet503UO() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .delay(.milliseconds(400), "slow") }
        try await origin.start()
        let cds = clustersYAML([("origin", origin.port)], extra: "circuit_breakers: {thresholds: [{max_requests: 1}]}")
        let proxy = try await ProxyHarness.start(lds: catchAllListenerYAML(cluster: "origin"), cds: cds)
        let port = proxy.port()
        // The first request runs on its own thread (not a task that has to wait for a cooperative thread).
        let first = Mutex<Int?>(nil)
        let thread = Thread { first.withLock { $0 = (try? RawHTTPClient(port: port).request("/a", host: "m"))?.status } }
        thread.start()
        // Wait until the first request holds the only slot the breaker allows.
        for _ in 0..<500 where proxy.stat("cluster.origin.upstream_rq_active") != 1 { try await Task.sleep(for: .milliseconds(10)) }
        let second = try await blocking { try RawHTTPClient(port: port).request("/b", host: "m") }
        for _ in 0..<500 where first.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
        #expect(first.withLock { $0 } == 200)
        #expect(second.status == 503)
        #expect(second.text.hasSuffix("reset reason: overflow"))
        #expect(proxy.stat("cluster.origin.upstream_rq_pending_overflow") == 1)
        await proxy.stop()
        await origin.stop()
    }

    @Test func leastRequestPrefersTheLessLoadedHost() throws {
        let set = ConfigLoader.load(paths: ["cds.yaml"], from: InMemoryFileSource(["cds.yaml": """
            resources:
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: pair
              lb_policy: LEAST_REQUEST
              load_assignment:
                endpoints:
                - lb_endpoints:
                  - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}
                  - endpoint: {address: {socket_address: {address: 10.0.0.2, port_value: 80}}}
            """]))
        let cluster = try UpstreamCluster(try #require(set.clusters.first), stats: StatsStore())
        let busy = cluster.endpoints[0]
        let counters = (0..<5).map { _ in cluster.hostStarted(busy) }
        let picks = (0..<50).compactMap { _ in cluster.pickEndpoint() }
        #expect(picks.allSatisfy { $0 == cluster.endpoints[1] })
        for counter in counters { counter.requestFinished() }
        #expect(cluster.activeRequests(on: busy) == 0)
    }
}
