/// A protobuf `Duration` as Envoy reads it from YAML: `"1s"`, `"0.25s"`, `"600s"`.
///
/// Stored as whole nanoseconds so `1s` and `1.0s` are the same value and print the same way.
public struct EnvoyDuration: Sendable, Hashable, Comparable, CustomStringConvertible, Encodable {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func seconds(_ value: Int64) -> EnvoyDuration { EnvoyDuration(nanoseconds: value * 1_000_000_000) }
    public static func milliseconds(_ value: Int64) -> EnvoyDuration { EnvoyDuration(nanoseconds: value * 1_000_000) }
    public static let zero = EnvoyDuration(nanoseconds: 0)

    public var isZero: Bool { self.nanoseconds == 0 }
    public var milliseconds: Int64 { self.nanoseconds / 1_000_000 }
    public var swiftDuration: Duration { .nanoseconds(self.nanoseconds) }

    /// Protobuf's JSON maximum: ±315,576,000,000 seconds (10,000 years).
    static let maxSeconds: Int64 = 315_576_000_000

    /// Parses the protobuf JSON form: optional sign, seconds, up to nine fractional digits, then `s`.
    public init?(parsing text: String) {
        var body = Substring(text)
        guard body.hasSuffix("s") else { return nil }
        body.removeLast()
        var negative = false
        if body.hasPrefix("-") {
            negative = true
            body.removeFirst()
        }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit),
              whole.count <= 12, let seconds = Int64(whole), seconds <= Self.maxSeconds
        else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy(\.isASCIIDigit) else { return nil }
            nanos = Int64(fraction + String(repeating: "0", count: 9 - fraction.count)) ?? 0
        }
        let total = seconds * 1_000_000_000 + nanos
        self.nanoseconds = negative ? -total : total
    }

    /// The shortest protobuf JSON spelling: `15s`, `0.250s` becomes `0.25s`.
    public var description: String {
        let sign = self.nanoseconds < 0 ? "-" : ""
        let magnitude = self.nanoseconds.magnitude
        let seconds = magnitude / 1_000_000_000
        let nanos = magnitude % 1_000_000_000
        guard nanos != 0 else { return "\(sign)\(seconds)s" }
        var fraction = String(nanos)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(sign)\(seconds).\(fraction)s"
    }

    public static func < (lhs: EnvoyDuration, rhs: EnvoyDuration) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}

extension Character {
    var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
