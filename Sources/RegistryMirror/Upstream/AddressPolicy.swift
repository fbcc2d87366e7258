/// Which addresses token realms and redirect targets may resolve to: the SSRF guard.
///
/// An upstream's challenge or redirect is attacker-influenced text; following it to loopback, a private
/// network or a cloud metadata address would make the mirror a relay into the network it sits in. Those are
/// refused unless the configuration allows private upstreams (tests, registries on a private network).
public struct AddressPolicy: Sendable, Equatable {
    public var allowPrivate: Bool

    public init(allowPrivate: Bool = false) { self.allowPrivate = allowPrivate }

    public func allows(_ address: String) -> Bool {
        self.allowPrivate || !Self.isInternal(address)
    }

    /// Loopback, private, link-local (metadata services live there), CGNAT, unspecified, multicast, unique-local.
    public static func isInternal(_ address: String) -> Bool {
        if let v4 = Self.ipv4(address) { return Self.isInternalIPv4(v4) }
        if let v6 = Self.ipv6(address) {
            if v6.prefix(10).allSatisfy({ $0 == 0 }), v6[10] == 0xFF, v6[11] == 0xFF {   // IPv4-mapped
                return Self.isInternalIPv4((v6[12], v6[13], v6[14], v6[15]))
            }
            if v6.allSatisfy({ $0 == 0 }) { return true }                                        // ::
            if v6.prefix(15).allSatisfy({ $0 == 0 }), v6[15] == 1 { return true }                // ::1
            if v6[0] & 0xFE == 0xFC { return true }                                               // fc00::/7
            if v6[0] == 0xFE, v6[1] & 0xC0 == 0x80 { return true }                                // fe80::/10
            if v6[0] == 0xFF { return true }                                                      // multicast
            return false
        }
        return true   // not an address at all: refuse
    }

    static func isInternalIPv4(_ a: (UInt8, UInt8, UInt8, UInt8)) -> Bool {
        switch (a.0, a.1) {
        case (0, _), (10, _), (127, _): return true
        case (169, 254): return true
        case (172, 16...31): return true
        case (192, 168): return true
        case (100, 64...127): return true
        case (224...255, _): return true
        default: return false
        }
    }

    static func ipv4(_ text: String) -> (UInt8, UInt8, UInt8, UInt8)? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let octets = parts.compactMap { part -> UInt8? in
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isNumber) else { return nil }
            return UInt8(part)
        }
        guard octets.count == 4 else { return nil }
        return (octets[0], octets[1], octets[2], octets[3])
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }
        guard text.contains(":") else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            guard !part.isEmpty else { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, let v4 = Self.ipv4(String(piece)) {
                    bytes += [v4.0, v4.1, v4.2, v4.3]
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4, let value = UInt16(piece, radix: 16) else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return bytes
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count < 16 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

extension Substring {
    fileprivate func components(separatedBy separator: String) -> [String] {
        var result: [String] = []
        var rest = self
        while let range = rest.range(of: separator) {
            result.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        result.append(String(rest))
        return result
    }
}
