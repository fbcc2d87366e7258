import Foundation

/// The registry mirror's HTTP filter (`typed_config` `type.googleapis.com/mirrord.config.v1.RegistryMirror`),
/// placed before the router in a connection manager's `http_filters`:
///
/// ```yaml
/// - name: mirrord.filters.http.registry_mirror
///   typed_config:
///     "@type": type.googleapis.com/mirrord.config.v1.RegistryMirror
///     cache: {path: /var/cache/mirrord, max_size: 50Gi}
///     allow_private_upstreams: false
///     max_requests_per_client: 64
///     client_auth: {htpasswd: {filename: /etc/mirrord/htpasswd}}
/// ```
public struct RegistryMirrorFilter: Sendable, Hashable, Encodable {
    public var cachePath: String
    /// Bytes; nil means no limit.
    public var maxCacheSize: Int64?
    /// Permits loopback/private addresses for upstreams, token realms and redirect targets (tests; off by default).
    public var allowPrivateUpstreams: Bool
    /// Concurrent registry requests per client address; 0 means no limit.
    public var maxRequestsPerClient: Int
    /// Basic authentication of clients against an htpasswd file (bcrypt), or none.
    public var htpasswd: DataSource?
    public var source: SourceInfo

    static let fields = ["cache", "allow_private_upstreams", "max_requests_per_client", "client_auth"]

    static func decode(_ object: ObjectReader) -> RegistryMirrorFilter? {
        let cache = object.object("cache", fields: ["path", "max_size"], required: true) { cache -> (String, Int64?)? in
            guard let path = cache.nonEmptyString("path", required: true) else { return nil }
            guard path.hasPrefix("/") else {
                cache.field("path")?.error("the cache path must be absolute")
                return nil
            }
            var size: Int64?
            if let field = cache.field("max_size"), let text = field.string() {
                size = ByteSize.parse(text)
                if size == nil { field.error("invalid size '\(text)': use bytes or a unit, e.g. 500Mi, 50Gi, 2Ti") }
            }
            return (path, size)
        }
        let htpasswd = object.object("client_auth", fields: ["htpasswd"]) { auth -> DataSource? in
            let source = auth.field("htpasswd").flatMap(DataSource.decode)
            if case .filename(let path)? = source, !FileManager.default.isReadableFile(atPath: path) {
                auth.field("htpasswd")?.error("cannot read the htpasswd file \(path)")
            } else if let source, !Self.isFile(source) {
                auth.field("htpasswd")?.error("client_auth.htpasswd must be a filename")
            }
            return source
        } ?? nil
        guard let cache else { return nil }
        return RegistryMirrorFilter(
            cachePath: cache.0, maxCacheSize: cache.1,
            allowPrivateUpstreams: object.bool("allow_private_upstreams", default: false),
            maxRequestsPerClient: Int(object.integer("max_requests_per_client", in: 0...1_000_000, default: 0)),
            htpasswd: htpasswd, source: object.source)
    }
}

extension RegistryMirrorFilter {
    static func isFile(_ source: DataSource) -> Bool { if case .filename = source { true } else { false } }
}

/// Sizes as people write them: `1073741824`, `500Mi`, `50Gi`, `2Ti`, `10G` (SI), `512k`.
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCIIDigit }
        guard !digits.isEmpty, let value = Int64(digits) else { return nil }
        let units: [String: Int64] = [
            "": 1, "b": 1, "k": 1_000, "kb": 1_000, "ki": 1 << 10, "kib": 1 << 10, "m": 1_000_000, "mb": 1_000_000,
            "mi": 1 << 20, "mib": 1 << 20, "g": 1_000_000_000, "gb": 1_000_000_000, "gi": 1 << 30, "gib": 1 << 30,
            "t": 1_000_000_000_000, "tb": 1_000_000_000_000, "ti": 1 << 40, "tib": 1 << 40,
        ]
        guard let unit = units[trimmed.dropFirst(digits.count).lowercased()] else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? nil : product
    }
}

/// The registry mirror's per-route options (`typed_per_filter_config`):
///
/// ```yaml
/// typed_per_filter_config:
///   mirrord.filters.http.registry_mirror:
///     "@type": type.googleapis.com/mirrord.config.v1.RegistryMirrorPerRoute
///     disabled: true        # this route's registry paths are forwarded by the router, not answered by the mirror
/// ```
public struct RegistryMirrorPerRoute: Sendable, Hashable, Encodable {
    public var disabled: Bool

    static let fields = ["disabled"]

    static func decode(_ object: ObjectReader) -> RegistryMirrorPerRoute {
        RegistryMirrorPerRoute(disabled: object.bool("disabled", default: false))
    }
}
