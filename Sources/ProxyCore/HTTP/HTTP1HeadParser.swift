import NIOCore
import NIOHTTP1
import ProxyConfig

/// Finds and checks HTTP/1.x heads, strictly (RFC 9112): CRLF line ends only, no folded lines, no space before a
/// field's colon, field names as tokens and values without control characters, one body framing — a
/// `Content-Length` beside a `Transfer-Encoding`, differing lengths, or a request coding that does not end in
/// `chunked` are refused, as each lets two parsers disagree about where a message ends.
enum HTTP1HeadParser {
    /// The head at the start of `input`, or nil when its end has not arrived yet. `responseTo` is the method of
    /// the request a response answers (HEAD responses have no body); nil parses a request.
    static func parse(_ input: ByteBuffer, responseTo method: HTTPMethod? = nil, maxBytes: Int = 60 * 1024,
                      maxFields: Int = 100) throws(HTTP1HeadError) -> HTTP1Head? {
        var scanned = 0
        return try Self.parse(input, responseTo: method, maxBytes: maxBytes, maxFields: maxFields, scanned: &scanned)
    }

    /// The same, for a head arriving in pieces: `scanned` keeps how much of the input was already searched for the
    /// head's end, so a head sent a byte at a time costs linear time, not quadratic.
    static func parse(_ input: ByteBuffer, responseTo method: HTTPMethod?, maxBytes: Int, maxFields: Int,
                      scanned: inout Int) throws(HTTP1HeadError) -> HTTP1Head? {
        guard let length = try Self.headLength(input, maxBytes: maxBytes, scanned: &scanned) else {
            try Self.checkStartSoFar(input, response: method != nil)
            return nil
        }
        let bytes = input.getSlice(at: input.readerIndex, length: length)!
        return try bytes.withUnsafeReadableBytes { raw throws(HTTP1HeadError) -> HTTP1Head in
            let lineEnd = raw.firstIndex(of: 0x0D)!
            guard raw[lineEnd + 1] == 0x0A else { throw .malformedStartLine }   // a CR alone in the start line
            let fields = try Self.fields(raw, from: lineEnd + 2, maxFields: maxFields)
            if let method {
                let (version, status) = try Self.statusLine(raw[..<lineEnd])
                let framing = try Self.responseFraming(fields, raw, status: status, method: method)
                return HTTP1Head(bytes: bytes, version: version, method: 0..<0, target: 0..<0, status: status,
                                 fields: fields, framing: framing)
            }
            let (methodRange, target, version) = try Self.requestLine(raw[..<lineEnd])
            let framing = try Self.requestFraming(fields, raw, version: version)
            return HTTP1Head(bytes: bytes, version: version, method: methodRange, target: target, status: 0,
                             fields: fields, framing: framing)
        }
    }

    /// Length of the head through its empty line; every LF must follow a CR. `allowEmpty` takes a lone empty
    /// line as a block (a chunked body's trailers are usually that).
    static func headLength(_ input: ByteBuffer, maxBytes: Int, allowEmpty: Bool = false,
                           scanned: inout Int) throws(HTTP1HeadError) -> Int? {
        let end = try input.withUnsafeReadableBytes { [scanned] bytes throws(HTTP1HeadError) -> Int? in
            for index in min(scanned, bytes.count)..<bytes.count where bytes[index] == 0x0A {
                guard index > 0, bytes[index - 1] == 0x0D else { throw .bareLineFeed }
                if index == 1, allowEmpty { return 2 }
                if index >= 3, bytes[index - 2] == 0x0A { return index + 1 }
            }
            return nil
        }
        if let end {
            scanned = 0
            return end <= maxBytes ? end : try Self.fail(.tooLarge)
        }
        if input.readableBytes > maxBytes { throw .tooLarge }
        scanned = input.readableBytes
        return nil
    }

    /// Bytes that cannot begin a head are refused before its end arrives (a TLS ClientHello or garbage on a
    /// plaintext port gets its answer at once, not after a timeout): a request starts with a method token and a
    /// space, a response with `HTTP/1.`.
    static func checkStartSoFar(_ input: ByteBuffer, response: Bool) throws(HTTP1HeadError) {
        let start = input.readableBytesView.prefix(response ? 7 : 33)
        if response {
            guard start.elementsEqual("HTTP/1.".utf8.prefix(start.count)) else { throw .malformedStartLine }
            return
        }
        for (offset, byte) in start.enumerated() {
            if byte == 0x20, offset > 0 { return }
            guard HeaderName.isTokenByte(byte) else { throw .malformedStartLine }
        }
        if start.count == 33 { throw .malformedStartLine }   // no method is that long
    }

    private static func fail(_ error: HTTP1HeadError) throws(HTTP1HeadError) -> Int { throw error }

    /// `method SP request-target SP HTTP/1.x`
    static func requestLine(_ line: Slice<UnsafeRawBufferPointer>) throws(HTTP1HeadError)
        -> (Range<Int>, Range<Int>, HTTPVersion) {
        guard let firstSpace = line.firstIndex(of: 0x20), firstSpace > line.startIndex,
              line[line.startIndex..<firstSpace].allSatisfy(HeaderName.isTokenByte),
              let secondSpace = line[(firstSpace + 1)...].firstIndex(of: 0x20), secondSpace > firstSpace + 1,
              line[(firstSpace + 1)..<secondSpace].allSatisfy({ (0x21...0x7E).contains($0) })
        else { throw .malformedStartLine }
        let version = try Self.version(line[(secondSpace + 1)...])
        return (line.startIndex..<firstSpace, (firstSpace + 1)..<secondSpace, version)
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason]`
    static func statusLine(_ line: Slice<UnsafeRawBufferPointer>) throws(HTTP1HeadError) -> (HTTPVersion, Int) {
        let start = line.startIndex
        guard line.count >= 12, line[start + 8] == 0x20, line.count == 12 || line[start + 12] == 0x20
        else { throw .malformedStartLine }
        let version = try Self.version(line[start..<(start + 8)])
        var status = 0
        for byte in line[(start + 9)..<(start + 12)] {
            guard (0x30...0x39).contains(byte) else { throw .malformedStartLine }
            status = status * 10 + Int(byte - 0x30)
        }
        guard status >= 100, line[(start + 12)...].allSatisfy({ $0 >= 0x20 || $0 == 0x09 }) else { throw .malformedStartLine }
        return (version, status)
    }

    static func version(_ text: Slice<UnsafeRawBufferPointer>) throws(HTTP1HeadError) -> HTTPVersion {
        let start0 = text.startIndex
        guard text.count == 8, text[start0] == 0x48, text[start0 + 1] == 0x54, text[start0 + 2] == 0x54,
              text[start0 + 3] == 0x50, text[start0 + 4] == 0x2F else { throw .malformedStartLine }   // "HTTP/"
        let start = text.startIndex
        guard text[start + 5] == 0x31, text[start + 6] == UInt8(ascii: ".") else { throw .unsupportedVersion }
        switch text[start + 7] {
        case 0x30: return .http1_0
        case 0x31: return .http1_1
        default: throw .unsupportedVersion
        }
    }

    /// The `name: value` lines from `start` to the empty line, each checked in one pass over its bytes.
    static func fields(_ raw: UnsafeRawBufferPointer, from start: Int, maxFields: Int) throws(HTTP1HeadError) -> [HTTP1Head.Field] {
        var fields: [HTTP1Head.Field] = []
        fields.reserveCapacity(16)
        let count = raw.count
        var index = start
        while index < count {
            if raw[index] == 0x0D {   // the empty line
                guard index + 1 < count, raw[index + 1] == 0x0A else { throw .malformedField }
                break
            }
            let nameStart = index
            while index < count, HeaderName.isTokenByte(raw[index]) { index += 1 }
            // No name, a space before the colon, a folded line: all refused.
            guard index > nameStart, index < count, raw[index] == UInt8(ascii: ":") else { throw .malformedField }
            let colon = index
            index += 1
            while index < count, raw[index] == 0x20 || raw[index] == 0x09 { index += 1 }
            let valueStart = index
            var valueEnd = index
            while index < count {
                let byte = raw[index]
                if byte == 0x0D { break }
                guard (byte >= 0x20 && byte != 0x7F) || byte == 0x09 else { throw .malformedField }
                index += 1
                if byte != 0x20, byte != 0x09 { valueEnd = index }
            }
            // A CR alone inside a line.
            guard index + 1 < count, raw[index + 1] == 0x0A else { throw .malformedField }
            fields.append(HTTP1Head.Field(name: nameStart..<colon, value: valueStart..<valueEnd))
            guard fields.count <= maxFields else { throw .tooLarge }
            index += 2
        }
        return fields
    }

    /// Requests: chunked (as the last coding), a length, or no body.
    static func requestFraming(_ fields: [HTTP1Head.Field], _ raw: UnsafeRawBufferPointer,
                               version: HTTPVersion) throws(HTTP1HeadError) -> HTTP1Head.Framing {
        let (length, codings) = try Self.framingFields(fields, raw)
        if let codings {
            guard length == nil else { throw .conflictingFraming }
            guard version == .http1_1 else { throw .badTransferEncoding }   // HTTP/1.0 has no transfer codings
            guard codings == .chunkedLast else { throw .badTransferEncoding }
            return .chunked
        }
        return length.map { $0 == 0 ? .none : .length($0) } ?? .none
    }

    /// Responses: also bodies that run until the close, and none for HEAD, 1xx, 204 and 304.
    static func responseFraming(_ fields: [HTTP1Head.Field], _ raw: UnsafeRawBufferPointer, status: Int,
                                method: HTTPMethod) throws(HTTP1HeadError) -> HTTP1Head.Framing {
        if status == 101 { return .untilClose }
        if status < 200 { return .interim }
        let (length, codings) = try Self.framingFields(fields, raw)
        if method == .HEAD || status == 204 || status == 304 { return .none }
        if let codings {
            guard length == nil else { throw .conflictingFraming }
            return codings == .chunkedLast ? .chunked : .untilClose
        }
        return length.map { $0 == 0 ? .none : .length($0) } ?? .untilClose
    }

    enum Codings { case chunkedLast, other }

    /// The `Content-Length` (every one the same) and whether `Transfer-Encoding` ends in chunked.
    static func framingFields(_ fields: [HTTP1Head.Field], _ raw: UnsafeRawBufferPointer) throws(HTTP1HeadError)
        -> (Int?, Codings?) {
        var length: Int?
        var codings: [Substring] = []
        for field in fields {
            let name = raw[field.name]
            if Self.equals(name, "content-length") {
                let this = try Self.contentLength(raw[field.value])
                if let length, length != this { throw .badContentLength }
                length = this
            } else if Self.equals(name, "transfer-encoding") {
                let value = String(decoding: raw[field.value], as: UTF8.self).lowercased()
                codings += value.split(separator: ",").map(Self.trimmingSpaces)
            }
        }
        guard !codings.isEmpty else { return (length, nil) }
        // chunked only once, and last: "chunked, gzip" or "chunked, chunked" are refused.
        if codings.dropLast().contains("chunked") { throw .badTransferEncoding }
        return (length, codings.last == "chunked" ? .chunkedLast : .other)
    }

    /// Digits, or a list of the same number (RFC 9110 §8.6), read in one pass.
    static func contentLength(_ value: Slice<UnsafeRawBufferPointer>) throws(HTTP1HeadError) -> Int {
        var result: Int?
        var number = 0
        var digits = 0
        var spaceAfterDigits = false
        for index in value.startIndex...value.endIndex {
            let byte = index < value.endIndex ? value[index] : UInt8(ascii: ",")   // the end closes the last item
            switch byte {
            case 0x30...0x39:
                guard !spaceAfterDigits, digits < 18 else { throw .badContentLength }
                number = number * 10 + Int(byte - 0x30)
                digits += 1
            case 0x20, 0x09:
                if digits > 0 { spaceAfterDigits = true }
            case UInt8(ascii: ","):
                guard digits > 0 else { throw .badContentLength }
                if let result, result != number { throw .badContentLength }
                result = number
                number = 0
                digits = 0
                spaceAfterDigits = false
            default:
                throw .badContentLength
            }
        }
        guard let result else { throw .badContentLength }
        return result
    }

    static func trimmingSpaces(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }

    static func equals(_ name: Slice<UnsafeRawBufferPointer>, _ lower: StaticString) -> Bool {
        guard name.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { expected in zip(name, expected).allSatisfy { ($0 | 0x20) == $1 || $0 == $1 } }
    }
}
