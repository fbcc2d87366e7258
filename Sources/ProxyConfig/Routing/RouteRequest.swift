/// The parts of an HTTP request that routing looks at. Header names are lower-case.
public struct RouteRequest: Sendable {
    public var host: String
    /// The request target as sent: path, and query string if any.
    public var path: String
    public var method: String
    public var scheme: String
    /// Headers as received; looked up only when a route has header matchers, so most requests never pay for it.
    public var headers: [(name: String, value: String)]

    public init(host: String, path: String, method: String = "GET", scheme: String = "http",
                headers: [(String, String)] = []) {
        self.host = host
        self.path = path
        self.method = method
        self.scheme = scheme
        self.headers = headers.map { (name: $0.0, value: $0.1) }
    }

    /// Values of a header; pseudo-headers answer from the request line as Envoy's HTTP/1 codec does.
    public func values(of name: String) -> [String] {
        switch name {
        case ":authority", "host": return [self.host]
        case ":path": return [self.path]
        case ":method": return [self.method]
        case ":scheme": return [self.scheme]
        default:
            return self.headers.compactMap { header in
                header.name.utf8.count == name.utf8.count && header.name.lowercased() == name ? header.value : nil
            }
        }
    }

    /// The path without query string and fragment, which is all that path matchers see.
    public var pathWithoutQuery: Substring {
        let utf8 = self.path.utf8
        if let index = utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            return self.path[..<index]
        }
        return self.path[...]
    }

    /// `?` and what follows, or empty.
    public var querySuffix: Substring {
        guard let index = self.path.utf8.firstIndex(of: UInt8(ascii: "?")) else { return "" }
        let end = self.path.utf8.firstIndex(of: UInt8(ascii: "#")) ?? self.path.endIndex
        return self.path[index..<max(index, end)]
    }

    /// The first value of each query parameter (Envoy considers only the first of a repeated key).
    public var queryParameters: [String: String] {
        var result: [String: String] = [:]
        for pair in self.querySuffix.dropFirst().split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            if result[key] == nil { result[key] = parts.count > 1 ? String(parts[1]) : "" }
        }
        return result
    }
}
