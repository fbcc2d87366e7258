/// A protobuf `Duration` as Envoy reads it from YAML: `"1s"`, `"0.25s"`, `"600s"`.
///
/// Stored as protobuf does, seconds plus nanoseconds, so `1s` and `1.0s` are the same value and print the
/// same way, and the largest duration protobuf allows (10,000 years) fits without overflow.
public struct EnvoyDuration: Sendable, Hashable, Comparable, CustomStringConvertible, Encodable {
    public var seconds: Int64
    /// 0...999,999,999, with the sign of `seconds` (durations here are never negative once validated).
    public var nanos: Int32

    public init(seconds: Int64, nanos: Int32 = 0) {
        self.seconds = seconds
        self.nanos = nanos
    }

    public init(nanoseconds: Int64) {
        self.init(seconds: nanoseconds / 1_000_000_000, nanos: Int32(nanoseconds % 1_000_000_000))
    }

    public static func seconds(_ value: Int64) -> EnvoyDuration { EnvoyDuration(seconds: value) }
    public static func milliseconds(_ value: Int64) -> EnvoyDuration { EnvoyDuration(nanoseconds: value * 1_000_000) }
    public static let zero = EnvoyDuration(seconds: 0)

    public var isZero: Bool { self.seconds == 0 && self.nanos == 0 }
    /// Seconds as a floating-point value, for `Date` arithmetic.
    public var timeInterval: Double { Double(self.seconds) + Double(self.nanos) / 1_000_000_000 }
    /// Saturates at Int64.max for durations beyond about 292 years.
    public var nanoseconds: Int64 {
        let (scaled, overflow) = self.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return self.seconds < 0 ? .min : .max }
        let (total, overflow2) = scaled.addingReportingOverflow(Int64(self.nanos))
        return overflow2 ? .max : total
    }
    public var milliseconds: Int64 { self.nanoseconds / 1_000_000 }
    public var swiftDuration: Duration { .seconds(self.seconds) + .nanoseconds(Int64(self.nanos)) }

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
        self.seconds = negative ? -seconds : seconds
        self.nanos = Int32(negative ? -nanos : nanos)
    }

    /// The shortest protobuf JSON spelling: `15s`, `0.250s` becomes `0.25s`.
    public var description: String {
        let sign = self.seconds < 0 || self.nanos < 0 ? "-" : ""
        let seconds = self.seconds.magnitude
        let nanos = self.nanos.magnitude
        guard nanos != 0 else { return "\(sign)\(seconds)s" }
        var fraction = String(nanos)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(sign)\(seconds).\(fraction)s"
    }

    public static func < (lhs: EnvoyDuration, rhs: EnvoyDuration) -> Bool { (lhs.seconds, lhs.nanos) < (rhs.seconds, rhs.nanos) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}

extension Character {
    var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
