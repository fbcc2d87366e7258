import NIOCore
import Testing
@testable import ProxyCore

/// The chunked body decoder: data out as it arrives, the body's exact end, trailers, and malformed framing.
@Suite struct HTTP1ChunkedDecoderTests {
    static let body = "5;name=value\r\nhello\r\n1a \t;x\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Digest: sha256:1\r\n\r\n"

    /// Decodes `pieces` fed one after the other; returns the data, the trailers and what was left unread.
    static func decode(_ pieces: [String]) throws(HTTP1HeadError) -> (String, [(String, String)]?, String) {
        var decoder = HTTP1ChunkedDecoder()
        var data = ""
        var input = ByteBuffer()
        var trailers: [(String, String)]?
        for piece in pieces {
            input.writeString(piece)
            trailers = try decoder.decode(&input) { data += String(buffer: $0) }
            if trailers != nil { break }
        }
        return (data, trailers, String(buffer: input))
    }

    @Test func decodesWhateverWayTheBytesArrive() throws {
        let whole = try Self.decode([Self.body + "GET /next HTTP/1.1\r\n"])
        #expect(whole.0 == "hello" + "abcdefghijklmnopqrstuvwxyz")
        #expect(whole.1?.map { "\($0.0)=\($0.1)" } == ["X-Digest=sha256:1"])
        #expect(whole.2 == "GET /next HTTP/1.1\r\n", "bytes after the body belong to the next message")
        let bytes = Array(Self.body.utf8)
        for cut in 1..<bytes.count {
            let pieces = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
            let split = try Self.decode(pieces)
            #expect(split.0 == whole.0 && split.1?.count == 1 && split.2.isEmpty, "cut at \(cut)")
        }
        let oneByOne = try Self.decode(bytes.map { String(decoding: [$0], as: UTF8.self) })
        #expect(oneByOne.0 == whole.0)
    }

    @Test func aBodyWithoutTrailersEndsAtItsEmptyLine() throws {
        let result = try Self.decode(["3\r\nabc\r\n0\r\n\r\nrest"])
        #expect(result.0 == "abc")
        #expect(result.1?.isEmpty == true)
        #expect(result.2 == "rest")
        #expect(try Self.decode(["3\r\nabc\r\n0\r\n"]).1 == nil, "waits for the empty line after the last chunk")
    }

    @Test func refusesMalformedFraming() {
        let refused: [(String, HTTP1HeadError)] = [
            ("x\r\n", .badChunk),
            ("\r\n", .badChunk),
            ("0x5\r\nhello\r\n", .badChunk),
            ("-1\r\n", .badChunk),
            ("5 6\r\nhello\r\n", .badChunk),
            ("1000000000000000\r\n", .badChunk),
            ("5\r\nhelloXX0\r\n\r\n", .badChunk),
            ("5\nhello\r\n", .bareLineFeed),
            ("3;a\u{1}\r\nabc\r\n", .badChunk),
            ("0\r\nX Bad: v\r\n\r\n", .malformedField),
            ("\(String(repeating: "0", count: 5000))", .badChunk),
        ]
        for (text, error) in refused {
            #expect(throws: error, "\(text.prefix(40).debugDescription)") { try Self.decode([text]) }
        }
    }
}
