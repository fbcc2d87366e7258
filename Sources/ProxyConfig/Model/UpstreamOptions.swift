/// mirrord's per-upstream options, where Envoy keeps per-upstream options: the cluster's
/// `typed_extension_protocol_options`, under the key `mirrord.upstream`.
///
/// ```yaml
/// typed_extension_protocol_options:
///   mirrord.upstream:
///     "@type": type.googleapis.com/mirrord.config.v1.UpstreamOptions
///     insecure_skip_tls_verify: true
/// ```
public struct UpstreamOptions: Sendable, Hashable, Encodable {
    public static let extensionName = "mirrord.upstream"

    /// Turns off upstream certificate verification: the explicit, loudly logged opt-out.
    public var insecureSkipTLSVerify: Bool

    public init(insecureSkipTLSVerify: Bool = false) {
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
    }

    static let fields = ["insecure_skip_tls_verify"]

    static func decode(_ object: ObjectReader) -> UpstreamOptions {
        let insecure = object.bool("insecure_skip_tls_verify", default: false)
        if insecure {
            object.field("insecure_skip_tls_verify")?.warning(
                "upstream certificates will NOT be verified: anyone on the path can impersonate this upstream")
        }
        return UpstreamOptions(insecureSkipTLSVerify: insecure)
    }
}
