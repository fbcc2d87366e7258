import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import ProxyCore
import TestSupport

/// Bodies both ways, many requests on one connection, and access logs as Envoy writes them.
@Suite(.serialized) struct StreamingAndLogTests {
    static let routes = """
        - name: all
          domains: ["*"]
          routes:
          - match: {prefix: "/"}
            route: {cluster: origin, timeout: 0s}
        """

    @Test func largeBodiesStreamBothWaysIntact() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            head.method == .POST ? .echo : .stream(length: 64 << 20)
        }
        try await origin.start()
        let proxy = try await ProxyHarness.start(lds: listenerYAML(Self.routes), cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let (download, upload) = try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("GET /blob HTTP/1.1\r\nhost: m\r\n\r\n")
            let head = try client.readHead()
            // A slow reader: the proxy must hold the upstream back instead of buffering 64 MiB.
            let received = try client.drainBody(expected: Int(head.header("content-length") ?? "0") ?? 0, pauseMicroseconds: 200)
            let body = String(repeating: "u", count: 8 << 20)
            let echoed = try RawHTTPClient(port: port).request("/upload", method: "POST", host: "m", body: body)
            return (received, echoed.text)
        }
        #expect(download == 64 << 20)
        #expect(upload.contains("body-bytes: \(8 << 20)\n"))
        #expect(origin.requests.withLock { $0.last?.body.count } == 8 << 20)
        await proxy.stop()
        await origin.stop()
    }

    @Test func tenThousandKeepAliveRequestsLeaveNoDescriptorsBehind() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "k") }
        try await origin.start()
        let proxy = try await ProxyHarness.start(lds: listenerYAML(Self.routes), cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let before = Self.openDescriptors()
        let ok = try await blocking {
            let client = try RawHTTPClient(port: port)
            var ok = 0
            for _ in 0..<10_000 where try client.request("/k", host: "m").status == 200 { ok += 1 }
            return ok
        }
        let after = Self.openDescriptors()
        #expect(ok == 10_000)
        #expect(after - before <= 4, "descriptors grew from \(before) to \(after)")
        #expect(proxy.stat("cluster.origin.upstream_cx_total") == 1)
        #expect(proxy.stat("http.ingress.downstream_rq_2xx") == 10_000)
        await proxy.stop()
        await origin.stop()
    }

    @Test func accessLogsUseEnvoysDefaultLineAndCustomFormats() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.created, [], "made") }
        try await origin.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let plain = directory.appendingPathComponent("access.log").path
        let custom = directory.appendingPathComponent("custom.log").path
        let logs = """
            access_log:
            - name: envoy.access_loggers.file
              typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog, path: \(plain)}
            - name: envoy.access_loggers.file
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                path: \(custom)
                log_format:
                  text_format_source: {inline_string: "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% %UPSTREAM_CLUSTER% %REQ(USER-AGENT):4% 100%%\\n"}
            """
        let proxy = try await ProxyHarness.start(lds: listenerYAML(Self.routes, extra: logs), cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        _ = try await blocking {
            try RawHTTPClient(port: port).request("/v2/x?y=1", method: "PUT", host: "mirror:5000",
                                                  headers: [("user-agent", "skopeo/1.0"), ("x-request-id", "abc")], body: "12345")
        }
        await proxy.stop()
        let line = try String(contentsOfFile: plain, encoding: .utf8)
        let pattern = #"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "PUT /v2/x\?y=1 HTTP/1\.1" 201 - 5 4 \d+ \d+ "-" "skopeo/1\.0" "abc" "mirror:5000" "127\.0\.0\.1:\d+"\n$"#
        #expect(line.range(of: pattern, options: .regularExpression) != nil, "got: \(line)")
        #expect(try String(contentsOfFile: custom, encoding: .utf8) == "PUT /v2/x?y=1 201 origin skop 100%\n")
        try? FileManager.default.removeItem(at: directory)
        await origin.stop()
    }

    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }
}
