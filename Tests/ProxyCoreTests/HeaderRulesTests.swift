import NIOHTTP1
import Testing
@testable import ProxyCore

/// Hop-by-hop stripping: what the upstream (or the client) sees of one hop's connection headers.
struct HeaderRulesTests {
    @Test func connectionSpecificHeadersAndTheOnesConnectionNamesAreRemoved() {
        var headers = HTTPHeaders([("Host", "mirror"), ("Connection", "Keep-Alive,\tX-Hop , upgrade"),
                                   ("X-Hop", "1"), ("x-hop", "2"), ("Upgrade", "h2c"), ("Proxy-Connection", "keep-alive"),
                                   ("Keep-Alive", "timeout=5"), ("Accept", "*/*")])
        HeaderRules.removeHopByHop(&headers)
        #expect(headers.map(\.name) == ["Host", "Accept"])
    }

    @Test func connectionCannotStripFramingOrHost() {
        var headers = HTTPHeaders([("Host", "mirror"), ("Content-Length", "3"), ("Connection", "host, Content-Length, close, ,")])
        HeaderRules.removeHopByHop(&headers)
        #expect(headers.map(\.name) == ["Host", "Content-Length"])
    }

    @Test func teKeepsOnlyTrailers() {
        var headers = HTTPHeaders([("TE", "gzip, Trailers"), ("Accept", "*/*")])
        HeaderRules.removeHopByHop(&headers)
        #expect(headers.map { "\($0.name): \($0.value)" } == ["Accept: */*", "te: trailers"])
        var other = HTTPHeaders([("te", "gzip")])
        HeaderRules.removeHopByHop(&other)
        #expect(other.isEmpty)
    }

    @Test func messagesWithoutHopHeadersAreUntouched() {
        var headers = HTTPHeaders([("Host", "mirror"), ("Accept", "*/*"), ("X-Connection", "keep")])
        HeaderRules.removeHopByHop(&headers)
        #expect(headers.map(\.name) == ["Host", "Accept", "X-Connection"])
    }
}
