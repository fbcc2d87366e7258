import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import ProxyCore
import TestSupport

/// HTTP/1.1 details: pipelining, HEAD, `Connection: close`, and the timeouts once the response has begun.
@Suite(.serialized) struct HTTP1SemanticsTests {
    static let routes = """
        - name: all
          domains: ["*"]
          routes:
          - match: {prefix: "/cut"}
            route: {cluster: origin, timeout: 0.3s}
          - match: {prefix: "/idle"}
            route: {cluster: origin, timeout: 0s, idle_timeout: 0.3s}
          - match: {prefix: "/local"}
            direct_response: {status: 200, body: {inline_string: "local"}}
          - match: {prefix: "/"}
            route: {cluster: origin}
        """

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            head.uri == "/slow" ? .delay(.milliseconds(150), "slow") : .respond(.ok, [], String(head.uri.dropFirst()))
        }
        try await origin.start()
        let proxy = try await ProxyHarness.start(lds: listenerYAML(Self.routes), cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let bodies = try await blocking {
            let client = try RawHTTPClient(port: port)
            // Four requests in one write: a slow one first, a local answer in the middle, a HEAD last.
            try client.send("GET /slow HTTP/1.1\r\nhost: m\r\n\r\nGET /a HTTP/1.1\r\nhost: m\r\n\r\n"
                + "GET /local HTTP/1.1\r\nhost: m\r\n\r\nPOST /b HTTP/1.1\r\nhost: m\r\ncontent-length: 3\r\n\r\nxyz"
                + "HEAD /c HTTP/1.1\r\nhost: m\r\n\r\n")
            var bodies = try (0..<4).map { _ in try client.readResponse().text }
            let head = try client.readResponse(method: "HEAD")
            bodies.append("HEAD \(head.status) \(head.header("content-length") ?? "-") \(head.body.count)")
            return bodies
        }
        #expect(bodies == ["slow", "a", "local", "b", "HEAD 200 1 0"])
        #expect(origin.requests.withLock { $0.map(\.head.uri) } == ["/slow", "/a", "/b", "/c"])
        await proxy.stop()
        await origin.stop()
    }

    @Test func connectionCloseIsHonouredAfterTheResponse() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "bye") }
        try await origin.start()
        let proxy = try await ProxyHarness.start(lds: listenerYAML(Self.routes), cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let (response, closed) = try await blocking {
            let client = try RawHTTPClient(port: port)
            let response = try client.request("/x", host: "m", headers: [("connection", "close")])
            return (response, client.isClosedByPeer())
        }
        #expect(response.text == "bye")
        #expect(response.header("connection") == "close")
        #expect(closed)
        await proxy.stop()
        await origin.stop()
    }

    @Test func timeoutsAfterTheResponseBeganCutTheConnection() async throws {
        // The origin sends headers and a first chunk, then stalls for longer than either timeout.
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .truncate(length: 1_000_000, sent: 1_000, linger: .seconds(2)) }
        try await origin.start()
        let proxy = try await ProxyHarness.start(lds: listenerYAML(Self.routes), cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let (cut, idle) = try await blocking {
            (try RawHTTPClient(port: port).request("/cut", host: "m"), try RawHTTPClient(port: port).request("/idle", host: "m"))
        }
        #expect(cut.status == 200 && !cut.complete && cut.body.count == 1_000)
        #expect(idle.status == 200 && !idle.complete && idle.body.count == 1_000)
        #expect(proxy.stat("cluster.origin.upstream_rq_timeout") == 1)
        await proxy.stop()
        await origin.stop()
    }
}
