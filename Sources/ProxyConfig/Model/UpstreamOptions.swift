import Foundation

/// mirrord's per-upstream options, where Envoy keeps per-upstream options: the cluster's
/// `typed_extension_protocol_options`, under the key `mirrord.upstream`.
///
/// ```yaml
/// typed_extension_protocol_options:
///   mirrord.upstream:
///     "@type": type.googleapis.com/mirrord.config.v1.UpstreamOptions
///     insecure_skip_tls_verify: false
///     registry:
///       name: gcr.io                  # what path-prefix and ?ns= requests call it
///       aliases: [k8s.gcr.io]
///       tag_ttl: 300s                 # how long a tag's digest is trusted before asking again
///       tag_stale_while_revalidate: 3600s   # after the TTL, serve the known digest at once and ask in the background
///       credentials: {filename: /etc/mirrord/gcr.json}   # {"username": ..., "password": ...}
///       token_realm_hosts: [auth.example.com]           # realms on other domains credentials may go to
///       repositories: {allow: ["distroless/*"], deny: ["*/internal-*"]}
/// ```
public struct UpstreamOptions: Sendable, Hashable, Encodable {
    public static let extensionName = "mirrord.upstream"

    /// Turns off upstream certificate verification: the explicit, loudly logged opt-out.
    public var insecureSkipTLSVerify: Bool
    /// How the registry mirror treats this cluster as an upstream registry; nil means defaults.
    public var registry: RegistryUpstreamOptions?

    public init(insecureSkipTLSVerify: Bool = false, registry: RegistryUpstreamOptions? = nil) {
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.registry = registry
    }

    static let fields = ["insecure_skip_tls_verify", "registry"]

    static func decode(_ object: ObjectReader) -> UpstreamOptions {
        let insecure = object.bool("insecure_skip_tls_verify", default: false)
        if insecure {
            object.field("insecure_skip_tls_verify")?.warning(
                "upstream certificates will NOT be verified: anyone on the path can impersonate this upstream")
        }
        let registry = object.object("registry", fields: RegistryUpstreamOptions.fields, RegistryUpstreamOptions.decode)
        return UpstreamOptions(insecureSkipTLSVerify: insecure, registry: registry)
    }
}

/// A cluster's settings as an upstream registry of the mirror.
public struct RegistryUpstreamOptions: Sendable, Hashable, Encodable {
    /// The registry's name in image references (`docker.io`, `gcr.io`); nil means the cluster's SNI or host.
    public var name: String?
    public var aliases: [String]
    /// How long a tag's digest is served without asking the upstream again.
    public var tagTTL: EnvoyDuration
    /// How long after `tagTTL` the known digest is still served at once while the upstream is asked in the
    /// background (behind a slow or flaky link a pull then never waits on a tag check); 0 turns it off.
    public var tagStaleWhileRevalidate: EnvoyDuration
    /// A JSON file `{"username": ..., "password": ...}`; nil means anonymous.
    public var credentialsFile: String?
    /// Token realm hosts beyond the upstream's own domain that may receive the credentials.
    public var tokenRealmHosts: [String]
    /// Repository globs (`*` within a path component, `**` across): allowed (empty = all) and denied.
    public var allowRepositories: [String]
    public var denyRepositories: [String]

    public static let defaultTagTTL = EnvoyDuration(seconds: 300)

    public init(name: String? = nil, aliases: [String] = [], tagTTL: EnvoyDuration = Self.defaultTagTTL,
                tagStaleWhileRevalidate: EnvoyDuration = .zero, credentialsFile: String? = nil, tokenRealmHosts: [String] = [], allowRepositories: [String] = [],
                denyRepositories: [String] = []) {
        self.name = name
        self.aliases = aliases
        self.tagTTL = tagTTL
        self.tagStaleWhileRevalidate = tagStaleWhileRevalidate
        self.credentialsFile = credentialsFile
        self.tokenRealmHosts = tokenRealmHosts
        self.allowRepositories = allowRepositories
        self.denyRepositories = denyRepositories
    }

    static let fields = ["name", "aliases", "tag_ttl", "tag_stale_while_revalidate", "credentials", "token_realm_hosts",
                         "repositories"]

    static func decode(_ object: ObjectReader) -> RegistryUpstreamOptions? {
        var options = RegistryUpstreamOptions()
        options.name = object.string("name")
        options.aliases = object.strings("aliases")
        for (key, names) in [("name", options.name.map { [$0] } ?? []), ("aliases", options.aliases)] {
            for name in names where !Self.isRegistryName(name) {
                object.field(key)?.error("'\(name)' is not a registry host name (e.g. gcr.io, registry.example.com:5000)")
            }
        }
        options.tagTTL = object.duration("tag_ttl", default: Self.defaultTagTTL)
        options.tagStaleWhileRevalidate = object.duration("tag_stale_while_revalidate", default: .zero)
        options.credentialsFile = object.object("credentials", fields: ["filename"]) { credentials in
            guard let path = credentials.nonEmptyString("filename", required: true) else { return nil }
            // Checked here so `mirrorctl validate` says what mirrord would refuse; the content is never echoed.
            if let problem = Self.credentialsProblem(path) { credentials.field("filename")?.error(problem) }
            return path
        }
        options.tokenRealmHosts = object.strings("token_realm_hosts")
        let lists = object.object("repositories", fields: ["allow", "deny"]) { lists in
            (lists.strings("allow"), lists.strings("deny"))
        }
        options.allowRepositories = lists?.0 ?? []
        options.denyRepositories = lists?.1 ?? []
        return options
    }

    /// Why a credentials file cannot be used, or nil when it is a JSON object with string `username` and `password`.
    public static func credentialsProblem(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return "cannot read the credentials file \(path)" }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              object["username"] is String, object["password"] is String else {
            return "the credentials file \(path) must be a JSON object with string \"username\" and \"password\""
        }
        return nil
    }

    /// Docker's rule for a registry component: a dot, a colon or `localhost`, and host characters only.
    public static func isRegistryName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-.:[]".contains($0)) }
        return allowed && (name.contains(".") || name.contains(":") || name == "localhost")
    }
}
