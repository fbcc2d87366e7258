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

/// Mutated messages (12,000, about half a second of a debug build), cut at random points: the reader either yields parts or refuses with an `HTTP1HeadError`,
/// and never reads outside what it was given (debug builds check every index, so a slip traps the test).
@Suite struct HTTP1MessageReaderFuzzTests {
    /// xorshift64*: deterministic, so a failure names the seed that found it.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state ^= self.state >> 12
            self.state ^= self.state << 25
            self.state ^= self.state >> 27
            return self.state &* 2_685_821_657_736_338_717
        }
    }

    static let seeds: [String] = [
        "GET /v2/library/alpine/manifests/3.20 HTTP/1.1\r\nHost: mirror\r\nAccept: */*\r\nConnection: keep-alive, x\r\n\r\n",
        "POST /up HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nabcd\r\n0\r\nX-T: 1\r\n\r\nGET / HTTP/1.0\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: m\r\nContent-Length: 5, 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: s\r\n\r\nabc",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
        "HTTP/1.0 200 OK\r\n\r\nbody until close",
    ]
    static let interesting: [UInt8] = Array("\r\n:; ,\t0Ff-".utf8) + [0, 0x7F, 0x80, 0xFF]

    static func mutate(_ bytes: [UInt8], using random: inout Generator) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
            let index = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes[index] = Self.interesting.randomElement(using: &random)!
            case 1: bytes.insert(Self.interesting.randomElement(using: &random)!, at: index)
            case 2: bytes.remove(at: index)
            default: bytes[index] = UInt8.random(in: 0...255, using: &random)
            }
        }
        return bytes
    }

    @Test func mutatedMessagesAreReadOrRefusedNeverMisread() {
        var random = Generator(state: 0x9E37_79B9_7F4A_7C15)
        var refused = 0, read = 0
        for round in 0..<12_000 {
            let seed = Self.seeds[round % Self.seeds.count]
            let bytes = Self.mutate(Array(seed.utf8), using: &random)
            var reader = HTTP1MessageReader(readsResponses: seed.hasPrefix("HTTP/"))
            var input = ByteBuffer()
            var offset = 0
            do {
                while offset < bytes.count {
                    let step = Int.random(in: 1...max(1, bytes.count - offset), using: &random)
                    input.writeBytes(bytes[offset..<(offset + step)])
                    offset += step
                    while let part = try reader.next(&input, maxHeadBytes: 200, maxFields: 8) {
                        if case .head(let head) = part {
                            // Whatever was indexed lies inside the head that was cut out.
                            #expect(head.fields.allSatisfy { $0.value.upperBound <= head.bytes.readableBytes })
                            // Whatever was accepted is written out again as a head the same parser accepts.
                            var editor = HeadEditor(head)
                            editor.removeHopByHop()
                            editor.replaceOrAdd(name: "host", value: "upstream")
                            let written = reader.readsResponses
                                ? editor.encodeResponse(version: .http1_1, allocator: ByteBufferAllocator())
                                : editor.encodeRequest(target: "/t", allocator: ByteBufferAllocator())
                            let again = try? HTTP1HeadParser.parse(written, responseTo: reader.readsResponses ? .GET : nil,
                                                                   maxBytes: .max, maxFields: .max)
                            #expect(again != nil, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
                        }
                    }
                }
                _ = reader.inputEnded()
                read += 1
            } catch {
                refused += 1
            }
        }
        // Both outcomes occur: the mutations are neither all harmless nor all fatal.
        #expect(read > 1_000 && refused > 1_000, "read \(read), refused \(refused)")
    }
}
