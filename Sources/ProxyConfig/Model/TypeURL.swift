/// The `@type` URLs mirrord understands, each for exactly one place in the configuration.
public enum TypeURL {
    static let prefix = "type.googleapis.com/"

    public static let listener = prefix + "envoy.config.listener.v3.Listener"
    public static let cluster = prefix + "envoy.config.cluster.v3.Cluster"
    public static let httpConnectionManager =
        prefix + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    public static let router = prefix + "envoy.extensions.filters.http.router.v3.Router"
    public static let fileAccessLog = prefix + "envoy.extensions.access_loggers.file.v3.FileAccessLog"
    public static let stdoutAccessLog = prefix + "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
    public static let stderrAccessLog = prefix + "envoy.extensions.access_loggers.stream.v3.StderrAccessLog"
    public static let upstreamTLS = prefix + "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
    public static let downstreamTLS = prefix + "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
    public static let httpProtocolOptions = prefix + "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    public static let tlsInspector = prefix + "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
    /// mirrord's own extensions live in their own namespace, so a file stays Envoy-shaped.
    public static let mirrordUpstreamOptions = prefix + "mirrord.config.v1.UpstreamOptions"
    public static let registryMirror = prefix + "mirrord.config.v1.RegistryMirror"
    public static let registryMirrorPerRoute = prefix + "mirrord.config.v1.RegistryMirrorPerRoute"

    /// Envoy accepts any host before the last `/`; only the message name selects the type.
    static func messageName(_ url: String) -> String {
        url.split(separator: "/").last.map(String.init) ?? url
    }

    static func matches(_ written: String, _ expected: String) -> Bool {
        messageName(written) == messageName(expected) && written.contains("/")
    }
}

extension NodeReader {
    /// Reads a `typed_config`-style mapping whose `@type` must be one of `expected`; returns the matching URL.
    func typedConfig(_ expected: [String], fields: [String]) -> (url: String, object: ObjectReader)? {
        guard let object = self.object(["@type"] + fields) else { return nil }
        guard let typeReader = object.field("@type") else {
            self.error("missing '@type'; expected \(expected.map(TypeURL.messageName).joined(separator: " or "))")
            return nil
        }
        guard let written = typeReader.string() else { return nil }
        guard let url = expected.first(where: { TypeURL.matches(written, $0) }) else {
            typeReader.error("'@type' \(written) does not fit here; expected \(expected.joined(separator: " or "))")
            return nil
        }
        return (url, object)
    }
}
