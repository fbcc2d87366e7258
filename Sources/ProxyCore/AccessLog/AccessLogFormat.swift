import Foundation
import ProxyConfig

/// What one finished request looked like, for access logs.
public struct AccessLogEntry: Sendable {
    public var startTime: Date
    public var method: String
    public var path: String
    public var originalPath: String?
    public var protocolName: String
    public var responseCode: Int
    public var responseFlags: String
    public var bytesReceived: Int
    public var bytesSent: Int
    public var durationMilliseconds: Int
    public var upstreamServiceTimeMilliseconds: Int?
    public var requestHeaders: [String: String]
    public var authority: String
    public var upstreamHost: String?
    public var upstreamCluster: String?
    public var downstreamRemoteAddress: String?
    public var routeName: String?

    public init(startTime: Date, method: String, path: String, protocolName: String, authority: String) {
        self.startTime = startTime
        self.method = method
        self.path = path
        self.protocolName = protocolName
        self.responseCode = 0
        self.responseFlags = ""
        self.bytesReceived = 0
        self.bytesSent = 0
        self.durationMilliseconds = 0
        self.requestHeaders = [:]
        self.authority = authority
    }
}

/// An Envoy access-log format compiled once: literal text and `%COMMAND(arg)%` operators.
public struct AccessLogFormat: Sendable {
    enum Segment: Sendable {
        case literal(String)
        case command(name: String, argument: String?, fallback: String?, maxLength: Int?)
    }

    let segments: [Segment]

    public init(_ format: AccessLog.Format) {
        switch format {
        case .envoyDefault: self.init(text: AccessLog.defaultFormat)
        case .text(let text): self.init(text: text)
        case .json(let fields):
            // One JSON object per line; each value is itself a format string.
            var text = "{"
            for (index, key) in fields.keys.sorted().enumerated() {
                text += (index > 0 ? "," : "") + "\"\(key)\":\"\(fields[key]!)\""
            }
            self.init(text: text + "}\n")
        }
    }

    public init(text: String) {
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let percent = rest.firstIndex(of: "%") {
            literal += rest[..<percent]
            let after = rest[rest.index(after: percent)...]
            if after.hasPrefix("%") {
                literal += "%"
                rest = after.dropFirst()
                continue
            }
            guard let close = after.firstIndex(of: "%") else {
                literal += rest[percent...]
                rest = ""
                break
            }
            let body = String(after[..<close])
            if !literal.isEmpty { segments.append(.literal(literal)); literal = "" }
            segments.append(Self.parseCommand(body))
            rest = after[after.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.segments = segments
    }

    /// `REQ(X-ENVOY-ORIGINAL-PATH?:PATH):10` → name REQ, argument, fallback, max length.
    static func parseCommand(_ body: String) -> Segment {
        var name = body, argument: String?, fallback: String?, maxLength: Int?
        if let open = body.firstIndex(of: "("), let close = body.lastIndex(of: ")") {
            name = String(body[..<open])
            let inner = String(body[body.index(after: open)..<close])
            let parts = inner.components(separatedBy: "?")
            argument = parts[0]
            fallback = parts.count > 1 ? parts[1] : nil
            let tail = body[body.index(after: close)...]
            if tail.hasPrefix(":") { maxLength = Int(tail.dropFirst()) }
        }
        return .command(name: name, argument: argument, fallback: fallback, maxLength: maxLength)
    }

    public func render(_ entry: AccessLogEntry) -> String {
        var line = ""
        for segment in self.segments {
            switch segment {
            case .literal(let text): line += text
            case .command(let name, let argument, let fallback, let maxLength):
                var value = Self.value(name, argument, fallback, entry) ?? "-"
                if let maxLength, value.count > maxLength { value = String(value.prefix(maxLength)) }
                line += value
            }
        }
        return line
    }

    static let timestampFormat: Date.ISO8601FormatStyle = .iso8601.year().month().day().time(includingFractionalSeconds: true)
        .timeZone(separator: .omitted)

    static func value(_ name: String, _ argument: String?, _ fallback: String?, _ entry: AccessLogEntry) -> String? {
        switch name {
        case "START_TIME": return entry.startTime.formatted(Self.timestampFormat)
        case "PROTOCOL": return entry.protocolName
        case "RESPONSE_CODE": return String(entry.responseCode)
        case "RESPONSE_FLAGS": return entry.responseFlags.isEmpty ? nil : entry.responseFlags
        case "BYTES_RECEIVED": return String(entry.bytesReceived)
        case "BYTES_SENT": return String(entry.bytesSent)
        case "DURATION": return String(entry.durationMilliseconds)
        case "UPSTREAM_HOST": return entry.upstreamHost
        case "UPSTREAM_CLUSTER": return entry.upstreamCluster
        case "DOWNSTREAM_REMOTE_ADDRESS": return entry.downstreamRemoteAddress
        case "ROUTE_NAME": return entry.routeName
        case "REQ":
            guard let argument else { return nil }
            return Self.header(argument, entry) ?? fallback.flatMap { Self.header($0, entry) }
        case "RESP":
            if argument?.uppercased() == "X-ENVOY-UPSTREAM-SERVICE-TIME" {
                return entry.upstreamServiceTimeMilliseconds.map(String.init)
            }
            return nil
        default: return nil
        }
    }

    static func header(_ name: String, _ entry: AccessLogEntry) -> String? {
        switch name.uppercased() {
        case ":METHOD": return entry.method
        case ":PATH": return entry.path
        case ":AUTHORITY", "HOST": return entry.authority
        case "X-ENVOY-ORIGINAL-PATH": return entry.originalPath
        default: return entry.requestHeaders[name.lowercased()]
        }
    }
}
