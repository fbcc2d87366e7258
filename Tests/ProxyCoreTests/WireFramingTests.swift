import Foundation
import NIOCore
import Testing
@testable import ProxyCore
import TestSupport

/// Message framing across the proxy, byte for byte: each side's body framed as its peer can read it, and
/// answers that are not HTTP refused rather than passed on.
@Suite(.serialized) struct WireFramingTests {
    static func start(_ origin: RawOrigin) async throws -> ProxyHarness {
        try await origin.start()
        return try await ProxyHarness.start(lds: catchAllListenerYAML(cluster: "origin"),
                                            cds: clustersYAML([("origin", origin.port)]))
    }

    /// The data of a chunked body (extensions and trailers ignored). Bytes, not characters: "\r\n" is one
    /// `Character`.
    static func dechunk(_ body: Substring) -> String {
        var rest = Array(body.utf8)[...]
        var data: [UInt8] = []
        while let cr = rest.firstIndex(of: 13) {
            let sizeField = String(decoding: rest[..<cr], as: UTF8.self).split(separator: ";").first ?? ""
            let size = Int(sizeField, radix: 16) ?? 0
            if size == 0 { break }
            data += rest[(cr + 2)..<(cr + 2 + size)]
            rest = rest[(cr + 4 + size)...]
        }
        return String(decoding: data, as: UTF8.self)
    }

    @Test func responseBodiesKeepTheirFramingOrGetOneTheClientCanRead() async throws {
        let origin = RawOrigin(group: ProxyHarness.group) { head in
            switch head.split(separator: " ").prefix(2).joined(separator: " ") {
            case "GET /chunked":
                return ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 7\r\n\r\n", false)
            case "GET /close":   // no length: the body ends when the origin closes
                return ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true)
            case "GET /continue":
                return ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
            case "HEAD /h":
                return ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false)
            case "GET /empty":
                return ("HTTP/1.1 204 No Content\r\n\r\n", false)
            case "GET /list":
                return ("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", false)
            default:
                return ("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false)
            }
        }
        let proxy = try await Self.start(origin)
        let port = proxy.port()
        let (responses, old, oldClosed) = try await blocking {
            let client = try RawHTTPClient(port: port)
            let responses = try [client.request("/chunked", host: "m"), client.request("/close", host: "m"),
                                 client.request("/continue", host: "m"), client.request("/h", method: "HEAD", host: "m"),
                                 client.request("/empty", host: "m"), client.request("/chunked", host: "m"),
                                 client.request("/list", host: "m")]
            let old = try RawHTTPClient(port: port)
            try old.send("GET /close HTTP/1.0\r\nhost: m\r\n\r\n")
            return (responses, try old.readResponse(), old.isClosedByPeer())
        }
        let chunked = responses[0], close = responses[1], interim = responses[2], head = responses[3]
        #expect(chunked.text == "hello world" && chunked.header("transfer-encoding") == "chunked")
        #expect(chunked.trailers.map { "\($0.0): \($0.1)" } == ["X-Sum: 7"])
        // A close-delimited body reaches an HTTP/1.1 client chunked, on a connection that stays open (all seven
        // answers came over one connection).
        #expect(close.text == "until the end" && close.header("transfer-encoding") == "chunked" && close.complete)
        #expect(interim.status == 200 && interim.text == "ok")
        #expect(head.status == 200 && head.header("content-length") == "5" && head.body.isEmpty)
        #expect(responses[4].status == 204 && responses[4].body.isEmpty)
        #expect(responses[5].text == "hello world")
        #expect(responses[6].text == "ok" && responses[6].headers.filter { $0.0.lowercased() == "content-length" }.map(\.1) == ["2"])
        // HTTP/1.0 has no chunks: the body comes as it is and the connection ends it.
        #expect(old.text == "until the end" && old.header("transfer-encoding") == nil && old.header("connection") == "close")
        #expect(old.status == 200 && oldClosed)
        #expect(proxy.stat("http.ingress.downstream_cx_total") == 2)
        await proxy.stop()
        await origin.stop()
    }

    @Test func requestBodiesAreFramedForTheUpstream() async throws {
        let origin = RawOrigin(group: ProxyHarness.group) { _ in ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false) }
        let proxy = try await Self.start(origin)
        let port = proxy.port()
        let statuses = try await blocking {
            let client = try RawHTTPClient(port: port)
            try client.send("POST /chunks HTTP/1.1\r\nhost: m\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n")
            let first = try client.readResponse().status
            try client.send("POST /length HTTP/1.1\r\nhost: m\r\ncontent-length: 4\r\n\r\nwxyz")
            let second = try client.readResponse().status
            // Agreeing lengths in a list or repeated: accepted, and the origin gets the single number.
            try client.send("POST /list HTTP/1.1\r\nhost: m\r\ncontent-length: 2, 2\r\nContent-Length: 2\r\n\r\nab")
            return [first, second, try client.readResponse().status]
        }
        #expect(statuses == [200, 200, 200])
        let requests = origin.requests.withLock { $0 }
        try #require(requests.count == 3)
        let listHead = requests[2].lowercased()
        #expect(listHead.components(separatedBy: "content-length").count == 2 && listHead.contains("content-length: 2\r\n"))
        #expect(requests[2].hasSuffix("\r\n\r\nab"))
        let chunkedHead = requests[0][..<requests[0].range(of: "\r\n\r\n")!.lowerBound].lowercased()
        #expect(chunkedHead.contains("transfer-encoding: chunked") && !chunkedHead.contains("content-length"))
        #expect(Self.dechunk(requests[0][requests[0].range(of: "\r\n\r\n")!.upperBound...]) == "abcdefg")
        #expect(requests[1].lowercased().contains("content-length: 4\r\n") && requests[1].hasSuffix("\r\n\r\nwxyz"))
        await proxy.stop()
        await origin.stop()
    }

    @Test func answersThatAreNotHTTPGet503AndTheirConnectionIsDropped() async throws {
        let origin = RawOrigin(group: ProxyHarness.group) { head in
            switch head.split(separator: " ").prefix(2).joined(separator: " ") {
            case "GET /conflict":   // two framings: which one ends the body is for the reader to guess
                return ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false)
            case "GET /garbage":
                return ("SSH-2.0-OpenSSH_9.2\r\n", false)
            case "GET /extra":   // a second answer nobody asked for follows the first
                return ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", false)
            default:
                return ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
            }
        }
        let proxy = try await Self.start(origin)
        let port = proxy.port()
        let responses = try await blocking {
            let client = try RawHTTPClient(port: port)
            return try ["/conflict", "/garbage", "/ok", "/extra", "/ok"].map { try client.request($0, host: "m") }
        }
        #expect(responses.map(\.status) == [503, 503, 200, 200, 200])
        #expect(responses[0].text.hasSuffix("reset reason: protocol error"))
        #expect(responses[3].text == "a" && responses[4].text == "ok")
        // The two refused answers and the one followed by stray bytes each cost their connection.
        #expect(proxy.stat("cluster.origin.upstream_cx_total") >= 4)
        await proxy.stop()
        await origin.stop()
    }
}
