import ProxyConfig

/// A registry API request, parsed and validated before anything touches a URL or a file.
///
/// Clients reach a mirror in four shapes, all on one listener:
/// - host-based: `gcr.example.com/v2/<name>/...` (the virtual host says which registry; the seed's style);
/// - path-prefix: `/v2/gcr.io/<name>/...` (podman's and skopeo's mirror `location` with a path);
/// - containerd: a plain `/v2/<name>/...` with `?ns=gcr.io`;
/// - registry-first: `/gcr.io/v2/<name>/...`.
/// A first path component is a registry host when it contains a dot or a colon or is `localhost` (Docker's rule).
public struct RegistryRequest: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `GET /v2/`: the API version check.
        case base
        case manifest(ManifestReference)
        case blob(Digest)
        case tags(count: Int?, last: String?)
        case referrers(Digest)
    }

    /// The upstream registry the request names (from the path or `ns`), or nil when the virtual host decides.
    public var registry: String?
    /// The repository, normalised (`library/` added for Docker Hub single-component names).
    public var name: RepositoryName?
    public var kind: Kind
    /// The request's query parameters, percent-decoded (first value wins): `ns`, `n`, `last`, `artifactType`.
    public var query: [String: String]

    public static let dockerHubAliases = RegistryUpstreamCatalog.dockerHubAliases

    /// Parses a request target (path and query). `defaultRegistry` is the registry of the virtual host, if any:
    /// used for Docker Hub normalisation, and an `ns` or path registry that contradicts it is refused.
    public init(target: String, defaultRegistry: String? = nil) throws(RegistryError) {
        let split = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(split[0])
        var query: [String: String] = [:]
        if split.count > 1 {
            for pair in split[1].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(parts[0])
                if query[key] == nil { query[key] = parts.count > 1 ? Self.percentDecoded(String(parts[1])) : "" }
            }
        }
        var components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard components.first == "" else { throw RegistryError(.nameInvalid, "request path must start with /") }
        components.removeFirst()
        if components.contains(where: { $0 == "." || $0 == ".." }) {
            throw RegistryError(.nameInvalid, "path segments '.' and '..' are not allowed")
        }
        var registry: String?
        // Registry-first form: /gcr.io/v2/...
        if components.count >= 2, components[0] != "v2", Self.isRegistryHost(components[0]), components[1] == "v2" {
            registry = components.removeFirst()
        }
        guard components.first == "v2" else { throw RegistryError(.unsupported, "not a registry API path") }
        components.removeFirst()
        if components.isEmpty || components == [""] {
            self.registry = registry ?? query["ns"]
            self.name = nil
            self.kind = .base
            self.query = query
            return
        }
        // Path-prefix form: /v2/gcr.io/<name>/...
        if registry == nil, components.count > 3, Self.isRegistryHost(components[0]) {
            registry = components.removeFirst()
        }
        if let ns = query["ns"], !ns.isEmpty {
            guard Self.isRegistryHost(ns) else { throw RegistryError(.nameInvalid, "ns '\(ns)' is not a registry host") }
            if let registry, Self.canonical(registry) != Self.canonical(ns) {
                throw RegistryError(.denied, "ns '\(ns)' contradicts the registry '\(registry)' in the path")
            }
            registry = registry ?? ns
        }
        if let registry, let defaultRegistry, Self.canonical(registry) != Self.canonical(defaultRegistry) {
            throw RegistryError(.denied, "registry '\(registry)' contradicts this host's registry '\(defaultRegistry)'")
        }
        let kind: Kind
        let nameComponents: ArraySlice<String>
        if components.count >= 3, components.suffix(2) == ["tags", "list"] {
            var count: Int?
            if let n = query["n"] {
                guard let value = Int(n), value >= 0 else { throw RegistryError(.unsupported, "n must be a non-negative integer") }
                count = value
            }
            kind = .tags(count: count, last: query["last"])
            nameComponents = components.dropLast(2)
        } else if components.count >= 3 {
            let action = components[components.count - 2], reference = components[components.count - 1]
            nameComponents = components.dropLast(2)
            switch action {
            case "manifests":
                guard let parsed = ManifestReference(parsing: reference) else {
                    throw reference.contains(":") ? RegistryError(.digestInvalid, "invalid digest '\(reference)'")
                        : RegistryError(.manifestInvalid, "invalid tag '\(reference)'")
                }
                kind = .manifest(parsed)
            case "blobs":
                guard let digest = Digest(parsing: reference) else { throw RegistryError(.digestInvalid, "invalid digest '\(reference)'") }
                kind = .blob(digest)
            case "referrers":
                guard let digest = Digest(parsing: reference) else { throw RegistryError(.digestInvalid, "invalid digest '\(reference)'") }
                kind = .referrers(digest)
            default:
                throw RegistryError(.unsupported, "unsupported registry API path")
            }
        } else {
            throw RegistryError(.unsupported, "unsupported registry API path")
        }
        var name = nameComponents.joined(separator: "/")
        let effective = registry ?? defaultRegistry
        if let effective, Self.dockerHubAliases.contains(Self.canonical(effective)), !name.contains("/") {
            name = "library/" + name
        }
        guard let repository = RepositoryName(parsing: name) else {
            throw RegistryError(.nameInvalid, "invalid repository name '\(name)'")
        }
        self.registry = registry
        self.name = repository
        self.kind = kind
        self.query = query
    }

    /// Docker's rule for the first component of a reference.
    public static func isRegistryHost(_ component: String) -> Bool {
        RegistryUpstreamOptions.isRegistryName(component)
    }

    /// Lower-cased, with Docker Hub's aliases folded together.
    public static func canonical(_ registry: String) -> String { RegistryUpstreamCatalog.canonical(registry) }

    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
