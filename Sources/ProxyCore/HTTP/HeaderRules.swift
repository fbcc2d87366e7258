import Foundation
import NIOHTTP1
import ProxyConfig

/// Header rules of the connection manager and router, applied in Envoy's order.
enum HeaderRules {
    /// Connection-specific headers (RFC 9110 §7.6.1) never cross the proxy; `transfer-encoding` is left to the codec.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "upgrade", "trailer",
                                        "proxy-authenticate", "proxy-authorization"]

    static func removeHopByHop(_ headers: inout HTTPHeaders) {
        var named = Set<String>()
        for value in headers["connection"] {
            for token in value.split(separator: ",") { named.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        named.remove("close")
        named.remove("keep-alive")
        named.subtract(["host", "content-length", "transfer-encoding"])
        var trailersRequested = false
        for value in headers["te"] where value.lowercased().contains("trailers") { trailersRequested = true }
        for name in hopByHop.union(named) { headers.remove(name: name) }
        if trailersRequested { headers.add(name: "te", value: "trailers") }
    }

    /// Applies one level's `headers_to_remove` then `headers_to_add` with Envoy's append actions.
    static func apply(_ mutations: HeaderMutations, to headers: inout HTTPHeaders) {
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
    static func applyLevels(_ levels: [HeaderMutations], mostSpecificWins: Bool, to headers: inout HTTPHeaders) {
        for level in (mostSpecificWins ? levels.reversed() : levels) where !level.isEmpty {
            Self.apply(level, to: &headers)
        }
    }

    /// A version 4 UUID, for `x-request-id`.
    static func requestID() -> String { UUID().uuidString.lowercased() }
}
