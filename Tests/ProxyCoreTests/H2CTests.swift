import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import ProxyCore

/// `codec_type: AUTO` takes HTTP/2 with prior knowledge (h2c) on the same port as HTTP/1.1, as Envoy does.
@Suite(.serialized) struct H2CTests {
    /// Runs curl (a real HTTP/2 client) and returns its output: status, protocol version, body.
    static func curl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "10"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func h2cWithPriorKnowledgeIsProxiedToAnHTTP1Upstream() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            head.uri == "/big" ? .stream(length: 3 << 20) : .echo
        }
        try await origin.start()
        let lds = catchAllListenerYAML(cluster: "origin", options: "host_rewrite_literal: upstream.example")
        let proxy = try await ProxyHarness.start(lds: lds, cds: clustersYAML([("origin", origin.port)]))
        let port = proxy.port()
        let url = "http://127.0.0.1:\(port)"
        let (h2, big, h1) = try await blocking {
            (try Self.curl(["--http2-prior-knowledge", "-w", "\n%{http_code} %{http_version}", "\(url)/v2/x?y=1"]),
             try Self.curl(["--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "\(url)/big"]),
             try Self.curl(["-w", "\n%{http_code} %{http_version}", "\(url)/v2/"]))
        }
        #expect(h2.hasPrefix("GET /v2/x?y=1\n"))
        #expect(h2.contains("host: upstream.example\n"))
        #expect(h2.hasSuffix("\n200 2"))
        #expect(big == "200 \(3 << 20)")
        #expect(h1.hasSuffix("\n200 1.1"))
        // Three connections (two HTTP/2, one HTTP/1.1), whatever the number of streams.
        #expect(proxy.stat("http.ingress.downstream_cx_total") == 3)
        #expect(proxy.stat("http.ingress.downstream_cx_http2_total") == 2)
        await proxy.stop()
        await origin.stop()
    }
}
