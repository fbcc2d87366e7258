import NIOCore
import NIOHTTP1
import Testing
@testable import ProxyCore

/// The part-by-part reader both byte-level codecs use: messages back to back, bodies by their framing.
@Suite struct HTTP1MessageReaderTests {
    /// Every part `reader` yields for `text` fed in pieces of `step` bytes, written out for comparison.
    static func parts(_ text: String, step: Int, responses: Bool = false, answeringHEAD: Bool = false) throws -> [String] {
        var reader = HTTP1MessageReader(readsResponses: responses)
        reader.answeringHEAD = answeringHEAD
        var input = ByteBuffer()
        var parts: [String] = []
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty || input.readableBytes > 0 {
            let piece = bytes.prefix(step)
            bytes = bytes.dropFirst(piece.count)
            input.writeBytes(piece)
            while let part = try reader.next(&input) {
                switch part {
                case .head(let head): parts.append("head \(head.status == 0 ? head.targetString : String(head.status))")
                case .body(let body): parts.append("body \(String(buffer: body))")
                case .end(let trailers): parts.append("end\(trailers.map { " \($0.map(\.name))" } ?? "")")
                }
            }
            if piece.isEmpty { break }
        }
        if let end = reader.inputEnded(), case .end = end { parts.append("end at close") }
        return parts.reduce(into: []) { merged, part in
            // Body pieces depend on how the bytes were cut; join neighbours so every cut reads the same.
            if part.hasPrefix("body "), let last = merged.last, last.hasPrefix("body ") {
                merged[merged.count - 1] = last + part.dropFirst(5)
            } else {
                merged.append(part)
            }
        }
    }

    @Test func pipelinedRequestsWithEveryFramingInAnyCut() throws {
        let text = "GET /a HTTP/1.1\r\nHost: m\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: m\r\nContent-Length: 3\r\n\r\nxyz"
            + "\r\n"   // an empty line between requests is ignored (RFC 9112 §2.2)
            + "POST /c HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-T: 1\r\n\r\n"
            + "GET /d HTTP/1.1\r\nHost: m\r\n\r\n"
        let expected = ["head /a", "end", "head /b", "body xyz", "end", "head /c", "body hi", "end [\"X-T\"]", "head /d", "end"]
        for step in [1, 2, 7, 64, text.utf8.count] {
            #expect(try Self.parts(text, step: step) == expected, "\(step) bytes at a time")
        }
    }

    @Test func responsesEndByLengthChunksOrTheClose() throws {
        let interim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        #expect(try Self.parts(interim, step: 5, responses: true) == ["head 100", "head 200", "body ok", "end"])
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
        #expect(try Self.parts(head, step: 3, responses: true, answeringHEAD: true) == ["head 200", "end"])
        let close = "HTTP/1.1 200 OK\r\n\r\nall of it"
        #expect(try Self.parts(close, step: 4, responses: true) == ["head 200", "body all of it", "end at close"])
        #expect(throws: HTTP1HeadError.malformedStartLine) { try Self.parts("HTTP/1.1 200 OK\r\n\r\n", step: 100) }
    }
}
