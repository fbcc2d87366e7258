import Foundation

/// An Envoy `core.v3.Address` as mirrord uses it: a host (IP or DNS name) and a TCP port.
public struct SocketAddress: Sendable, Hashable, Encodable, CustomStringConvertible {
    public enum TransportProtocol: String, EnvoyEnum { case TCP, UDP }

    public var address: String
    public var portValue: Int
    public var ipv4Compat: Bool = false
    public var source: SourceInfo

    public init(address: String, portValue: Int, source: SourceInfo = .unknown) {
        self.address = address
        self.portValue = portValue
        self.source = source
    }

    /// `host:port`, with IPv6 literals bracketed.
    public var description: String {
        self.address.contains(":") ? "[\(self.address)]:\(self.portValue)" : "\(self.address):\(self.portValue)"
    }

    /// True for IPv4/IPv6 literals, false for names that need DNS.
    public var isIPLiteral: Bool { IPAddress.isLiteral(self.address) }

    static let fields = ["socket_address", "pipe", "envoy_internal_address"]
    static let socketFields = ["address", "port_value", "protocol", "ipv4_compat", "resolver_name", "named_port"]

    /// Decodes `{socket_address: {address, port_value}}`; `allowZeroPort` for listeners (the kernel picks one).
    static func decode(_ reader: NodeReader, allowZeroPort: Bool) -> SocketAddress? {
        guard let object = reader.object(Self.fields) else { return nil }
        if object.has("pipe") || object.has("envoy_internal_address") {
            object.field(object.has("pipe") ? "pipe" : "envoy_internal_address")?
                .error("only socket_address is supported by mirrord")
            return nil
        }
        return object.object("socket_address", fields: Self.socketFields, required: true) { socket in
            let protocolValue = socket.enumeration("protocol", default: TransportProtocol.TCP)
            if protocolValue == .UDP { socket.field("protocol")?.error("only TCP is supported") }
            if socket.has("named_port") { socket.field("named_port")?.error("named_port is not supported; use port_value") }
            if socket.has("resolver_name") { socket.field("resolver_name")?.error("custom resolvers are not supported") }
            let range: ClosedRange<Int64> = allowZeroPort ? 0...65535 : 1...65535
            guard let host = socket.nonEmptyString("address", required: true) else { return nil }
            guard let port = socket.optionalInteger("port_value", in: range, required: true) else { return nil }
            var address = SocketAddress(address: host, portValue: Int(port), source: socket.source)
            address.ipv4Compat = socket.bool("ipv4_compat", default: false)
            if !IPAddress.isLiteral(host), !IPAddress.isValidHostname(host) {
                socket.field("address")?.error("'\(host)' is neither an IP address nor a valid host name")
                return nil
            }
            return address
        }
    }
}

/// Textual checks for IP literals and DNS names, without touching the network.
public enum IPAddress {
    public static func isLiteral(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && (Int(part) ?? 256) <= 255
        }
    }

    public static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), text.count <= 45 else { return false }
        let allowed = Set("0123456789abcdefABCDEF:.")
        guard text.allSatisfy({ allowed.contains($0) }) else { return false }
        let doubleColons = text.components(separatedBy: "::").count - 1
        guard doubleColons <= 1 else { return false }
        let groups = text.split(separator: ":", omittingEmptySubsequences: true)
        let hasIPv4Tail = groups.last.map { isIPv4(String($0)) } ?? false
        let hexGroups = hasIPv4Tail ? groups.dropLast() : groups[...]
        guard hexGroups.allSatisfy({ $0.count <= 4 && !$0.contains(".") }) else { return false }
        let count = hexGroups.count + (hasIPv4Tail ? 2 : 0)
        return doubleColons == 1 ? count < 8 : count == 8
    }

    /// RFC 1123 host name: dot-separated labels of letters, digits and hyphens, 253 characters at most.
    public static func isValidHostname(_ text: String) -> Bool {
        guard !text.isEmpty, text.count <= 253 else { return false }
        let name = text.hasSuffix(".") ? String(text.dropLast()) : text
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
    }

    /// The wildcard addresses a listener binds to accept on every interface.
    public static func isWildcard(_ text: String) -> Bool { text == "0.0.0.0" || text == "::" }

    public static func isLoopback(_ text: String) -> Bool {
        text.hasPrefix("127.") || text == "::1" || text == "localhost"
    }
}
