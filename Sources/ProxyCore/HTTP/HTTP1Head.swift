import NIOCore
import NIOHTTP1

/// An HTTP/1.x message head kept as the bytes it arrived in, with where each part is.
///
/// The proxy path of a byte-level data plane reads and rewrites heads through this index instead of building
/// `HTTPHeaders` of Swift strings: `mirrord-bench byte-head` measured that design at haproxy's cost per request,
/// against 1.7× for NIO's codecs.
struct HTTP1Head: Sendable {
    /// One `name: value` line: where its name is, and its value without surrounding spaces.
    struct Field: Sendable, Equatable {
        let name: Range<Int>
        let value: Range<Int>
    }

    /// How the body that follows the head is delimited (RFC 9112 §6.3).
    enum Framing: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
        /// A response body without a length: it runs until the upstream closes.
        case untilClose
        /// A 1xx response: no body, the final response follows.
        case interim
    }

    /// Exactly the head: start line through the empty line, readable from index 0.
    let bytes: ByteBuffer
    let version: HTTPVersion
    /// Requests: the method and request-target; responses: empty ranges.
    let method: Range<Int>
    let target: Range<Int>
    /// Responses: the status code; requests: 0.
    let status: Int
    let fields: [Field]
    let framing: Framing

    func string(_ range: Range<Int>) -> String { self.bytes.getString(at: range.lowerBound, length: range.count) ?? "" }

    /// Whether the field's name is `lower` (an ASCII lower-case literal), ignoring case.
    func name(of field: Field, is lower: StaticString) -> Bool {
        self.bytes.withUnsafeReadableBytes { HTTP1HeadParser.equals($0[field.name], lower) }
    }

    /// Whether the field's name is `name`, of any case.
    func name(of field: Field, equals name: String) -> Bool {
        self.bytes.withUnsafeReadableBytes { HeaderRules.equalsIgnoringCase($0[field.name], name.utf8) }
    }

    var methodString: String { self.string(self.method) }
    var targetString: String { self.string(self.target) }
    var isHEAD: Bool { self.bytes.withUnsafeReadableBytes { $0[self.method].elementsEqual("HEAD".utf8) } }
    var host: String? { self.value(named: "host") }

    /// Whether the connection stays open after this message: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only
    /// with `Connection: keep-alive`.
    var isKeepAlive: Bool {
        var close = false
        var keepAlive = false
        self.bytes.withUnsafeReadableBytes { raw in
            for field in self.fields where HTTP1HeadParser.equals(raw[field.name], "connection") {
                var tokenStart = field.value.lowerBound
                for index in field.value.lowerBound...field.value.upperBound
                where index == field.value.upperBound || raw[index] == UInt8(ascii: ",") {
                    var start = tokenStart, end = index
                    while start < end, raw[start] == 0x20 || raw[start] == 0x09 { start += 1 }
                    while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
                    if HTTP1HeadParser.equals(raw[start..<end], "close") { close = true }
                    if HTTP1HeadParser.equals(raw[start..<end], "keep-alive") { keepAlive = true }
                    tokenStart = index + 1
                }
            }
        }
        return self.version.minor >= 1 ? !close : keepAlive && !close
    }

    /// More than one `Content-Length` field, or a list in one (`5, 5`): the parser accepts that when every value
    /// agrees, but the next hop gets the single number (RFC 9110 §8.6), not a form its parser may refuse.
    var hasIrregularContentLength: Bool {
        guard case .length = self.framing else { return false }
        return self.bytes.withUnsafeReadableBytes { raw in
            var seen = false
            for field in self.fields where HTTP1HeadParser.equals(raw[field.name], "content-length") {
                if seen || !raw[field.value].allSatisfy({ (0x30...0x39).contains($0) }) { return true }
                seen = true
            }
            return false
        }
    }

    /// The fields as `HTTPHeaders`, for the parts of mirrord that want names and values as strings.
    var headers: HTTPHeaders {
        HTTPHeaders(self.fields.map { (self.string($0.name), self.string($0.value)) })
    }

    /// The value of the first field named `lower`.
    func value(named lower: StaticString) -> String? {
        self.fields.first { self.name(of: $0, is: lower) }.map { self.string($0.value) }
    }
}

/// Why bytes are not a head mirrord will forward. The connection ends after any of these: once framing is in
/// doubt, the next bytes could be anything (request smuggling, a response given to the wrong client).
enum HTTP1HeadError: Error, Equatable {
    case malformedStartLine
    case unsupportedVersion
    case malformedField
    case bareLineFeed
    /// Head larger than the limit, or more fields: 431 for requests.
    case tooLarge
    case conflictingFraming
    case badContentLength
    case badTransferEncoding
    /// A chunk size, extension or the CRLF after a chunk is not as RFC 9112 §7.1 writes it.
    case badChunk
}
