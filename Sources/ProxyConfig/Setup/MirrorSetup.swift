import Foundation

/// What `mirrorctl init` writes: a complete mirror configuration (bootstrap, LDS, CDS) for a set of upstream
/// registries, in the shape operators edit afterwards. `mirrord` with no `-c` runs exactly what this produces
/// with no options, so the first run and the first `init` agree.
public struct MirrorSetup: Sendable, Equatable {
    public struct Upstream: Sendable, Equatable {
        /// The registry's name in image references (`docker.io`).
        public var name: String
        public var url: URL

        public init(name: String, url: URL) {
            self.name = name
            self.url = url
        }
    }

    public var listen = SocketAddress(address: "0.0.0.0", portValue: 5000)
    public var admin = SocketAddress(address: "127.0.0.1", portValue: 9901)
    public var cacheDirectory = "/var/tmp/mirrord-cache"
    public var cacheMaxSize: String?
    public var upstreams = MirrorSetup.publicRegistries
    /// Host-based virtual hosts: registry name → the hostname clients use for it.
    public var domains: [(registry: String, hostname: String)] = []
    public var allowPrivateUpstreams = false

    public init() {}

    public static func == (lhs: MirrorSetup, rhs: MirrorSetup) -> Bool { lhs.files == rhs.files }

    /// The five public registries people mirror, at their real endpoints.
    public static let publicRegistries: [Upstream] = [
        ("docker.io", "https://registry-1.docker.io"), ("quay.io", "https://quay.io"), ("gcr.io", "https://gcr.io"),
        ("ghcr.io", "https://ghcr.io"), ("registry.k8s.io", "https://registry.k8s.io"),
    ].map { Upstream(name: $0.0, url: URL(string: $0.1)!) }

    public enum SetupError: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        public var description: String { if case .invalid(let text) = self { return text } else { return "" } }
    }

    /// Parses `NAME=URL` as `--upstream` takes it.
    public static func parseUpstream(_ text: String) throws(SetupError) -> Upstream {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, RegistryUpstreamOptions.isRegistryName(parts[0]) else {
            throw .invalid("--upstream takes NAME=URL with a registry host name, e.g. docker.io=https://registry-1.docker.io; got '\(text)'")
        }
        guard let url = URL(string: parts[1]), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil else {
            throw .invalid("--upstream \(parts[0]): '\(parts[1])' must be http(s)://host[:port] with no path, query or credentials")
        }
        return Upstream(name: parts[0].lowercased(), url: url)
    }

    /// Parses `NAME=HOSTNAME` as `--domain` takes it.
    public static func parseDomain(_ text: String) throws(SetupError) -> (registry: String, hostname: String) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty,
              parts[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:*".contains($0)) }) else {
            throw .invalid("--domain takes NAME=HOSTNAME, e.g. gcr.io=gcr.mirror.example.com; got '\(text)'")
        }
        return (parts[0].lowercased(), parts[1].lowercased())
    }

    /// Parses `HOST:PORT` as `--listen` and `--admin` take it.
    public static func parseAddress(_ text: String, flag: String) throws(SetupError) -> SocketAddress {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw .invalid("\(flag) takes HOST:PORT, e.g. 0.0.0.0:5000; got '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalid("\(flag): missing host in '\(text)'") }
        return SocketAddress(address: host, portValue: port)
    }

    /// Cross-option checks: every `--domain` names an upstream, names are unique, the cache path is absolute.
    public func check() throws(SetupError) {
        guard !self.upstreams.isEmpty else { throw .invalid("at least one upstream is needed") }
        var seen = Set<String>()
        for upstream in self.upstreams where !seen.insert(upstream.name).inserted {
            throw .invalid("upstream \(upstream.name) is given twice")
        }
        for domain in self.domains where !seen.contains(domain.registry) {
            throw .invalid("--domain \(domain.registry)=\(domain.hostname): no upstream is named \(domain.registry)")
        }
        guard self.cacheDirectory.hasPrefix("/") else { throw .invalid("--cache-dir must be an absolute path") }
        if let size = self.cacheMaxSize, ByteSize.parse(size) == nil {
            throw .invalid("--cache-max-size '\(size)' is not a size (e.g. 50Gi, 500Mi, 2Ti)")
        }
    }

    /// The cluster name of an upstream: its registry name with dots made underscores (`docker_io`).
    public static func clusterName(_ registry: String) -> String {
        String(registry.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// `envoy.yaml`, `lds.yaml` and `cds.yaml`.
    public var files: [String: String] {
        ["envoy.yaml": self.bootstrapYAML, "lds.yaml": self.listenersYAML, "cds.yaml": self.clustersYAML]
    }
}
