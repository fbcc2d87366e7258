import NIOCore
import NIOHTTP1
import Testing
@testable import ProxyCore

/// Hop-by-hop stripping: what the upstream (or the client) sees of one hop's connection headers.
struct HeaderRulesTests {
    /// The fields of `headers` after hop-by-hop removal, read back from the head the editor writes.
    static func afterHopRemoval(_ headers: [(String, String)]) throws -> [String] {
        var buffer = ByteBuffer(string: "GET / HTTP/1.1\r\n")
        for (name, value) in headers { buffer.writeString("\(name): \(value)\r\n") }
        buffer.writeString("\r\n")
        var editor = HeadEditor(try #require(try HTTP1HeadParser.parse(buffer)))
        editor.removeHopByHop()
        let written = editor.encodeRequest(target: "/", allocator: ByteBufferAllocator())
        let head = try #require(try HTTP1HeadParser.parse(written))
        return head.fields.map { "\(head.string($0.name)): \(head.string($0.value))" }
    }

    @Test func connectionSpecificHeadersAndTheOnesConnectionNamesAreRemoved() throws {
        let fields = try Self.afterHopRemoval([("Host", "mirror"), ("Connection", "Keep-Alive,\tX-Hop , upgrade"),
                                               ("X-Hop", "1"), ("x-hop", "2"), ("Upgrade", "h2c"),
                                               ("Proxy-Connection", "keep-alive"), ("Keep-Alive", "timeout=5"),
                                               ("Accept", "*/*")])
        #expect(fields == ["Host: mirror", "Accept: */*"])
    }

    @Test func connectionCannotStripFramingOrHost() throws {
        let fields = try Self.afterHopRemoval([("Host", "mirror"), ("Content-Length", "3"),
                                               ("Connection", "host, Content-Length, close, ,")])
        #expect(fields == ["Host: mirror", "Content-Length: 3"])
    }

    @Test func teKeepsOnlyTrailers() throws {
        #expect(try Self.afterHopRemoval([("TE", "gzip, Trailers"), ("Accept", "*/*")]) == ["Accept: */*", "te: trailers"])
        #expect(try Self.afterHopRemoval([("te", "gzip")]).isEmpty)
    }

    @Test func messagesWithoutHopHeadersAreUntouched() throws {
        let fields = try Self.afterHopRemoval([("Host", "mirror"), ("Accept", "*/*"), ("X-Connection", "keep")])
        #expect(fields == ["Host: mirror", "Accept: */*", "X-Connection: keep"])
    }

    @Test func editsKeepTheOriginalBytesOfFieldsLeftAlone() throws {
        let buffer = ByteBuffer(string: "GET /a HTTP/1.1\r\nHost: m\r\nX-Forwarded-For: 1.2.3.4\r\nx-forwarded-for:  5.6.7.8 \r\nA: b\r\n\r\n")
        var editor = HeadEditor(try #require(try HTTP1HeadParser.parse(buffer)))
        #expect(editor.values(named: "X-FORWARDED-FOR") == ["1.2.3.4", "5.6.7.8"])
        #expect(editor.contains(name: "a"))
        editor.replaceOrAdd(name: "x-forwarded-for", value: "1.2.3.4, 5.6.7.8, 9.9.9.9")
        editor.add(name: "x-new", value: "1")
        HeaderRules.applyLevels([], mostSpecificWins: false, to: &editor)
        editor.remove(name: "x-new")
        #expect(!editor.contains(name: "x-new"))
        let written = editor.encodeRequest(target: "/b?c", allocator: ByteBufferAllocator())
        #expect(String(buffer: written) == "GET /b?c HTTP/1.1\r\nHost: m\r\nA: b\r\nx-forwarded-for: 1.2.3.4, 5.6.7.8, 9.9.9.9\r\n\r\n")
    }
}
