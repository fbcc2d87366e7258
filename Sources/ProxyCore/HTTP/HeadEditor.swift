import NIOCore
import NIOHTTP1

/// The header operations the rules of `HeaderRules` need, so each rule has one implementation whether it edits
/// a head kept as bytes (the proxy path) or `HTTPHeaders` (mirrord's own answers).
protocol HeaderEditing {
    func contains(name: String) -> Bool
    mutating func remove(name: String)
    mutating func add(name: String, value: String)
    mutating func replaceOrAdd(name: String, value: String)
}

extension HTTPHeaders: HeaderEditing {}

/// A head being rewritten for the next hop: the original's fields kept or dropped, new ones appended, written
/// out as bytes once. Kept fields are copied as they arrived; no field of the original becomes a `String`
/// unless a rule asks for its value.
struct HeadEditor: HeaderEditing {
    let head: HTTP1Head
    private var removed = FieldSet()
    private(set) var added: [(name: String, value: String)] = []

    init(_ head: HTTP1Head) {
        self.head = head
        self.added.reserveCapacity(6)   // one allocation for the fields a proxy adds, not one per doubling
    }

    func contains(name: String) -> Bool {
        for index in self.head.fields.indices where !self.removed.contains(index) {
            if self.head.name(of: self.head.fields[index], equals: name) { return true }
        }
        return self.added.contains { HeaderRules.equalsIgnoringCase($0.name.utf8, name.utf8) }
    }

    mutating func remove(name: String) {
        for index in self.head.fields.indices where self.head.name(of: self.head.fields[index], equals: name) {
            self.removed.insert(index)
        }
        if !self.added.isEmpty { self.added.removeAll { HeaderRules.equalsIgnoringCase($0.name.utf8, name.utf8) } }
    }

    mutating func add(name: String, value: String) {
        self.added.append((name, value))
    }

    mutating func replaceOrAdd(name: String, value: String) {
        self.remove(name: name)
        self.add(name: name, value: value)
    }

    /// The values of the fields named `name` still in the head, in order.
    func values(named name: String) -> [String] {
        var result: [String] = []
        for index in self.head.fields.indices where !self.removed.contains(index) {
            let field = self.head.fields[index]
            if self.head.name(of: field, equals: name) { result.append(self.head.string(field.value)) }
        }
        for field in self.added where HeaderRules.equalsIgnoringCase(field.name.utf8, name.utf8) { result.append(field.value) }
        return result
    }

    /// Drops connection-specific fields and those a `Connection` field names (`HeaderRules` says which).
    mutating func removeHopByHop() {
        var trailersRequested = false
        var named: [String] = []
        for index in self.head.fields.indices {
            let field = self.head.fields[index]
            let isHop = self.head.bytes.withUnsafeReadableBytes { HeaderRules.isHopByHop($0[field.name]) }
            guard isHop else { continue }
            self.removed.insert(index)
            if self.head.name(of: field, is: "connection") {
                // Nearly always `keep-alive` or `close`, which name no field: no strings for those.
                let onlyOwnToken = self.head.bytes.withUnsafeReadableBytes {
                    HeaderRules.equalsIgnoringCase($0[field.value], "keep-alive") || HeaderRules.equalsIgnoringCase($0[field.value], "close")
                }
                if !onlyOwnToken { named += HeaderRules.namesListedByConnection(self.head.string(field.value)) }
            } else if self.head.name(of: field, is: "te") {
                trailersRequested = trailersRequested || self.head.string(field.value).lowercased().contains("trailers")
            }
        }
        for name in named { self.remove(name: name) }
        if trailersRequested { self.add(name: "te", value: "trailers") }
    }

    /// The request head for the next hop: `method target HTTP/1.1`, then the fields.
    func encodeRequest(target: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: self.head.bytes.readableBytes + target.utf8.count + 64 * (self.added.count + 1))
        buffer.writeBytes(self.head.bytes.readableBytesView[self.head.method])
        buffer.writeStaticString(" ")
        buffer.writeString(target)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        self.writeFields(to: &buffer)
        return buffer
    }

    /// The response head for the next hop, in `version`, with the upstream's status line otherwise as it was.
    func encodeResponse(version: HTTPVersion, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: self.head.bytes.readableBytes + 64 * (self.added.count + 1))
        buffer.writeStaticString(version.minor == 0 ? "HTTP/1.0" : "HTTP/1.1")
        let statusLineEnd = self.head.fields.first.map { $0.name.lowerBound - 2 }
            ?? (self.head.bytes.readableBytes - 4)
        buffer.writeBytes(self.head.bytes.readableBytesView[8..<statusLineEnd])
        buffer.writeStaticString("\r\n")
        self.writeFields(to: &buffer)
        return buffer
    }

    /// The kept fields, each run of neighbours copied in one write as it arrived, then the added ones.
    private func writeFields(to buffer: inout ByteBuffer) {
        let fields = self.head.fields
        let headEnd = self.head.bytes.readableBytes - 2   // where the empty line starts
        self.head.bytes.withUnsafeReadableBytes { raw in
            var index = 0
            while index < fields.count {
                guard !self.removed.contains(index) else {
                    index += 1
                    continue
                }
                let runStart = fields[index].name.lowerBound
                while index < fields.count, !self.removed.contains(index) { index += 1 }
                // A line runs to the next field's name (or to the empty line), its CRLF included.
                let runEnd = index < fields.count ? fields[index].name.lowerBound : headEnd
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[runStart..<runEnd]))
            }
        }
        HTTP1Writer.writeFields(self.added, to: &buffer)
        buffer.writeStaticString("\r\n")
    }
}

/// Which fields of a head are dropped: two words for the usual heads, a set beyond 128 fields.
private struct FieldSet {
    private var low: UInt64 = 0
    private var high: UInt64 = 0
    private var rest: Set<Int> = []

    func contains(_ index: Int) -> Bool {
        if index < 64 { return self.low & (1 << UInt64(index)) != 0 }
        if index < 128 { return self.high & (1 << UInt64(index - 64)) != 0 }
        return self.rest.contains(index)
    }

    mutating func insert(_ index: Int) {
        if index < 64 { self.low |= 1 << UInt64(index) } else if index < 128 { self.high |= 1 << UInt64(index - 64) } else { self.rest.insert(index) }
    }
}
