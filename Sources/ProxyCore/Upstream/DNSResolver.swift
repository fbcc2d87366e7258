import Foundation
import NIOCore
import NIOPosix
import ProxyConfig
#if canImport(Glibc)
import Glibc
#endif

/// Resolves cluster host names to addresses, never on an event loop.
public protocol DNSResolver: Sendable {
    func resolve(_ host: String, family: Cluster.DNSLookupFamily) async throws -> [String]
}

/// The system resolver (`/etc/resolv.conf`, `/etc/hosts`) through getaddrinfo on a dispatch thread.
public struct SystemDNSResolver: DNSResolver {
    public init() {}

    public func resolve(_ host: String, family: Cluster.DNSLookupFamily) async throws -> [String] {
        if IPAddress.isLiteral(host) { return [host] }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.getaddrinfo(host, family: family) })
            }
        }
    }

    static func getaddrinfo(_ host: String, family: Cluster.DNSLookupFamily) throws -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        switch family {
        case .V4_ONLY: hints.ai_family = AF_INET
        case .V6_ONLY: hints.ai_family = AF_INET6
        default: hints.ai_family = AF_UNSPEC
        }
        var result: UnsafeMutablePointer<addrinfo>?
        let status = Glibc.getaddrinfo(host, nil, &hints, &result)
        guard status == 0 else { throw DNSError.lookupFailed(host, String(cString: gai_strerror(status))) }
        defer { freeaddrinfo(result) }
        var v4: [String] = [], v6: [String] = []
        var cursor = result
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if info.pointee.ai_family == AF_INET {
                info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var raw = address.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count))
                }
                v4.append(Self.string(buffer))
            } else if info.pointee.ai_family == AF_INET6 {
                info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
                }
                v6.append(Self.string(buffer))
            }
            cursor = info.pointee.ai_next
        }
        return DNSFamilyOrder.order(v4: Self.unique(v4), v6: Self.unique(v6), family: family)
    }

    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func unique(_ addresses: [String]) -> [String] {
        var seen = Set<String>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

/// Envoy's `dns_lookup_family`: AUTO is IPv6 first with IPv4 fallback, V4_PREFERRED the reverse, ALL both.
enum DNSFamilyOrder {
    static func order(v4: [String], v6: [String], family: Cluster.DNSLookupFamily) -> [String] {
        switch family {
        case .V4_ONLY: return v4
        case .V6_ONLY: return v6
        case .AUTO: return v6.isEmpty ? v4 : v6
        case .V4_PREFERRED: return v4.isEmpty ? v6 : v4
        case .ALL: return v4 + v6
        }
    }
}

public enum DNSError: Error, Sendable, Equatable {
    case lookupFailed(String, String)
    case timeout(String)
    case malformedResponse
}
