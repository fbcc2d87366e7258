import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import ProxyCore

/// `codec_type: AUTO` takes HTTP/2 with prior knowledge (h2c) on the same port as HTTP/1.1, as Envoy does.
@Suite(.serialized) struct H2CTests {
    /// Runs curl (a real HTTP/2 client) and returns its output: status, protocol version, body.
    static func curl(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "10"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
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

    @Test func requestBodiesOfStreamsReachTheHTTP1UpstreamFramed() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .echo }
        try await origin.start()
        let proxy = try await ProxyHarness.start(lds: catchAllListenerYAML(cluster: "origin"),
                                                 cds: clustersYAML([("origin", origin.port)]))
        let url = "http://127.0.0.1:\(proxy.port())"
        let (sized, streamed) = try await blocking {
            // A body with a length, and one read from a pipe (no length: its DATA frames become chunks upstream).
            (try Self.curl(["--http2-prior-knowledge", "--data-binary", "twelve bytes", "\(url)/sized"]),
             try Self.curl(["--http2-prior-knowledge", "-T", "-", "\(url)/streamed"], input: String(repeating: "x", count: 70_000)))
        }
        #expect(sized.hasPrefix("POST /sized\n") && sized.contains("content-length: 12\n") && sized.hasSuffix("body-bytes: 12\n"))
        #expect(streamed.hasPrefix("PUT /streamed\n") && streamed.contains("transfer-encoding: chunked\n"))
        #expect(streamed.hasSuffix("body-bytes: 70000\n"))
        await proxy.stop()
        await origin.stop()
    }
}
