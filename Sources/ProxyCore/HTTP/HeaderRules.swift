import Foundation
import NIOHTTP1
import ProxyConfig

/// Header rules of the connection manager and router, applied in Envoy's order.
enum HeaderRules {
    /// The field names a `Connection` value lists for removal, leaving out those it may not remove.
    static func namesListedByConnection(_ value: String) -> [String] {
        var names: [String] = []
        for token in value.split(separator: ",") {
            var name = token.drop { $0 == " " || $0 == "\t" }
            while let last = name.last, last == " " || last == "\t" { name = name.dropLast() }
            if !name.isEmpty, !Self.isNeverNamedByConnection(name.utf8) { names.append(String(name)) }
        }
        return names
    }

    /// Names a `Connection` header may not remove: its own keep-alive tokens, and the framing and routing headers
    /// a client could otherwise strip from the upstream request.
    private static func isNeverNamedByConnection<Name: Collection<UInt8>>(_ name: Name) -> Bool {
        Self.equalsIgnoringCase(name, "close") || Self.equalsIgnoringCase(name, "keep-alive")
            || Self.equalsIgnoringCase(name, "host") || Self.equalsIgnoringCase(name, "content-length")
            || Self.equalsIgnoringCase(name, "transfer-encoding")
    }

    /// Connection-specific headers (RFC 9110 §7.6.1) never cross the proxy; `transfer-encoding` is left to the codec.
    static func isHopByHop<Name: Collection<UInt8>>(_ name: Name) -> Bool {
        switch name.count {
        case 2: return Self.equalsIgnoringCase(name, "te")
        case 7: return Self.equalsIgnoringCase(name, "upgrade") || Self.equalsIgnoringCase(name, "trailer")
        case 10: return Self.equalsIgnoringCase(name, "connection") || Self.equalsIgnoringCase(name, "keep-alive")
        case 16: return Self.equalsIgnoringCase(name, "proxy-connection")
        case 18: return Self.equalsIgnoringCase(name, "proxy-authenticate")
        case 19: return Self.equalsIgnoringCase(name, "proxy-authorization")
        default: return false
        }
    }

    /// ASCII case-insensitive comparison with a lower-case literal, byte by byte.
    static func equalsIgnoringCase<Name: Collection<UInt8>>(_ name: Name, _ lower: StaticString) -> Bool {
        guard name.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { expected in
            zip(name, expected).allSatisfy { ($0 | 0x20) == $1 || $0 == $1 }
        }
    }

    static func equalsIgnoringCase(_ name: String, _ lower: StaticString) -> Bool {
        Self.equalsIgnoringCase(name.utf8, lower)
    }

    /// ASCII case-insensitive comparison of two names, either of any case.
    static func equalsIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { $0 == $1 || ($0 | 0x20 == $1 | 0x20 && ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A) }
    }

    /// Applies one level's `headers_to_remove` then `headers_to_add` with Envoy's append actions.
    static func apply(_ mutations: HeaderMutations, to headers: inout some HeaderEditing) {
        for name in mutations.remove { headers.remove(name: name) }
        for option in mutations.add {
            if option.value.isEmpty && !option.keepEmptyValue { continue }
            let exists = headers.contains(name: option.key)
            switch option.appendAction {
            case .APPEND_IF_EXISTS_OR_ADD: headers.add(name: option.key, value: option.value)
            case .ADD_IF_ABSENT: if !exists { headers.add(name: option.key, value: option.value) }
            case .OVERWRITE_IF_EXISTS_OR_ADD: headers.replaceOrAdd(name: option.key, value: option.value)
            case .OVERWRITE_IF_EXISTS: if exists { headers.replaceOrAdd(name: option.key, value: option.value) }
            }
        }
    }

    /// Route, virtual host and route-configuration mutations, most specific first (later levels may override),
    /// or the reverse with `most_specific_header_mutations_wins`.
    static func applyLevels(_ levels: [HeaderMutations], mostSpecificWins: Bool, to headers: inout some HeaderEditing) {
        for level in (mostSpecificWins ? levels.reversed() : levels) where !level.isEmpty {
            Self.apply(level, to: &headers)
        }
    }

    /// The `server` header per `server_header_transformation`.
    static func applyServerHeader(_ state: RoutingState, to headers: inout some HeaderEditing) {
        switch state.serverHeaderTransformation {
        case .OVERWRITE: headers.replaceOrAdd(name: "server", value: state.serverName)
        case .APPEND_IF_ABSENT: if !headers.contains(name: "server") { headers.add(name: "server", value: state.serverName) }
        case .PASS_THROUGH: break
        }
    }

    /// A version 4 UUID, for `x-request-id`, formatted without Foundation's printf path.
    static func requestID(using generator: inout FastRandom) -> String {
        var bytes = (generator.next() as UInt64, generator.next() as UInt64)
        bytes.0 = (bytes.0 & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000   // version 4
        bytes.1 = (bytes.1 & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000   // RFC 4122 variant
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var index = 0
        for word in [bytes.0, bytes.1] {
            for shift in stride(from: 60, through: 0, by: -4) {
                if index == 8 || index == 13 || index == 18 || index == 23 { index += 1 }
                out[index] = hex[Int((word >> UInt64(shift)) & 0xF)]
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
