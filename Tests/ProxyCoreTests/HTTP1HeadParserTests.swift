import NIOCore
import NIOHTTP1
import Testing
@testable import ProxyCore

/// The strict HTTP/1 head parser: what it indexes, when it waits for more bytes, and every ambiguity it refuses.
@Suite struct HTTP1HeadParserTests {
    static func request(_ text: String) throws(HTTP1HeadError) -> HTTP1Head? {
        try HTTP1HeadParser.parse(ByteBuffer(string: text))
    }

    static func response(_ text: String, to method: HTTPMethod = .GET) throws(HTTP1HeadError) -> HTTP1Head? {
        try HTTP1HeadParser.parse(ByteBuffer(string: text), responseTo: method)
    }

    @Test func indexesARequestWithoutCopyingIt() throws {
        let text = "GET /v2/library/alpine/manifests/3.20 HTTP/1.1\r\nHost: mirror\r\nAccept:  a/b ,c \t\r\nX-Empty:\r\n\r\nBODY"
        let head = try #require(try Self.request(text))
        #expect(head.bytes.readableBytes == text.utf8.count - 4)
        #expect(head.string(head.method) == "GET")
        #expect(head.string(head.target) == "/v2/library/alpine/manifests/3.20")
        #expect(head.version == .http1_1)
        #expect(head.fields.map { head.string($0.name) } == ["Host", "Accept", "X-Empty"])
        #expect(head.fields.map { head.string($0.value) } == ["mirror", "a/b ,c", ""])
        #expect(head.value(named: "host") == "mirror")
        #expect(head.framing == HTTP1Head.Framing.none)
    }

    @Test func waitsForTheRestOfAHead() throws {
        let whole = "POST /upload HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\n\r\n"
        for cut in 1..<whole.utf8.count {
            #expect(try Self.request(String(whole.utf8.prefix(cut))!) == nil, "\(cut) bytes")
        }
        #expect(try Self.request(whole)?.framing == .length(5))
    }

    @Test func keepAliveFollowsTheVersionAndTheConnectionTokens() throws {
        let cases: [(String, Bool)] = [
            ("GET / HTTP/1.1\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nConnection: upgrade,  Close \r\n\r\n", false),
            ("GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false),
            ("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: x, Keep-Alive\r\n\r\n", true),
        ]
        for (text, keepAlive) in cases {
            #expect(try Self.request(text)?.isKeepAlive == keepAlive, "\(text.debugDescription)")
        }
    }

    @Test func requestFraming() throws {
        #expect(try Self.request("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n")?.framing == .chunked)
        #expect(try Self.request("POST / HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n")?.framing == .length(7))
        #expect(try Self.request("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")?.framing == HTTP1Head.Framing.none)
    }

    @Test func refusesWhatTwoParsersCouldReadDifferently() throws {
        let refused: [(String, HTTP1HeadError)] = [
            ("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", .conflictingFraming),
            ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", .badContentLength),
            ("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", .badContentLength),
            ("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", .badContentLength),
            ("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", .badContentLength),
            ("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", .badContentLength),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .badTransferEncoding),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .badTransferEncoding),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .badTransferEncoding),
            ("GET / HTTP/1.1\r\nHost : m\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\nHost: m\r\n folded\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\nHost: a\u{1}b\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\r\n: empty-name\r\n\r\n", .malformedField),
            ("GET / HTTP/1.1\nHost: m\r\n\r\n", .bareLineFeed),
            ("GET / HTTP/1.1\r\nHost: m\n\r\n", .bareLineFeed),
            ("GET  / HTTP/1.1\r\n\r\n", .malformedStartLine),
            ("GET /a b HTTP/1.1\r\n\r\n", .malformedStartLine),
            ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion),
            ("G(T / HTTP/1.1\r\n\r\n", .malformedStartLine),
            ("\u{16}\u{3}\u{1} / HTTP/1.1\r\n\r\n", .malformedStartLine),
        ]
        for (text, error) in refused {
            #expect(throws: error, "\(text.debugDescription)") { try Self.request(text) }
        }
        // Refused before any line end arrives: a TLS ClientHello, a method no request has, a response that is not HTTP/1.
        for partial in ["\u{16}\u{3}\u{1}\u{0}\u{a5}", "G(", String(repeating: "A", count: 40)] {
            #expect(throws: HTTP1HeadError.malformedStartLine, "\(partial.debugDescription)") { try Self.request(partial) }
        }
        #expect(throws: HTTP1HeadError.malformedStartLine) { try Self.response("SSH-2.0") }
        #expect(try Self.response("HTTP/1") == nil)
        #expect(try Self.request("PROPFIND /a") == nil)
    }

    @Test func limitsHeadSizeAndFieldCount() throws {
        let big = "GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 61 * 1024))\r\n\r\n"
        #expect(throws: HTTP1HeadError.tooLarge) { try Self.request(big) }
        // Refused as soon as the limit is passed, without waiting for an end that may never come.
        #expect(throws: HTTP1HeadError.tooLarge) { try Self.request(String(big.prefix(61 * 1024))) }
        let many = "GET / HTTP/1.1\r\n" + (0...100).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(throws: HTTP1HeadError.tooLarge) { try Self.request(many) }
        let hundred = "GET / HTTP/1.1\r\n" + (0..<100).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(try Self.request(hundred)?.fields.count == 100)
    }

    @Test func responseFraming() throws {
        let ok = try #require(try Self.response("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: nginx\r\n\r\n"))
        #expect(ok.status == 200)
        #expect(ok.framing == .length(12))
        #expect(try Self.response("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", to: .HEAD)?.framing == HTTP1Head.Framing.none)
        #expect(try Self.response("HTTP/1.1 204 No Content\r\n\r\n")?.framing == HTTP1Head.Framing.none)
        #expect(try Self.response("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n")?.framing == HTTP1Head.Framing.none)
        #expect(try Self.response("HTTP/1.1 100 Continue\r\n\r\n")?.framing == .interim)
        #expect(try Self.response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?.framing == .chunked)
        #expect(try Self.response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")?.framing == .untilClose)
        #expect(try Self.response("HTTP/1.0 200 OK\r\n\r\n")?.framing == .untilClose)
        #expect(try Self.response("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")?.status == 404)
        #expect(throws: HTTP1HeadError.conflictingFraming) {
            try Self.response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
        }
        for bad in ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n"] {
            #expect(throws: HTTP1HeadError.malformedStartLine, "\(bad.debugDescription)") { try Self.response(bad) }
        }
    }
}
