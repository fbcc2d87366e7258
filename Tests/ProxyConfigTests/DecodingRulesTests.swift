import Foundation
import Testing
@testable import ProxyConfig
import TestSupport

/// Envoy's leniency, its defaults, and what is an error: one table row per rule.
@Suite struct DecodingRulesTests {
    @Test(arguments: [
        ("1s", 1, 0), ("600s", 600, 0), ("0.25s", 0, 250_000_000), ("1.0s", 1, 0),
        ("0s", 0, 0), ("1.000000001s", 1, 1), ("315576000000s", 315_576_000_000, 0),
    ] as [(String, Int64, Int32)])
    func durationsParse(text: String, seconds: Int64, nanos: Int32) {
        #expect(EnvoyDuration(parsing: text) == EnvoyDuration(seconds: seconds, nanos: nanos))
    }

    @Test func theLongestDurationDoesNotOverflow() throws {
        let longest = try #require(EnvoyDuration(parsing: "315576000000s"))
        #expect(longest.nanoseconds == Int64.max)
        #expect(longest.description == "315576000000s")
        #expect(longest > .seconds(600))
    }

    @Test(arguments: ["5", "1m", "s", "1.s", ".5s", "1.1234567890s", "1 s", "", "abc", "315576000001s", "0x10s"])
    func badDurationsDoNotParse(text: String) {
        #expect(EnvoyDuration(parsing: text) == nil)
    }

    @Test func durationsPrintInShortestForm() {
        #expect(EnvoyDuration(parsing: "0.250s")?.description == "0.25s")
        #expect(EnvoyDuration(parsing: "600.0s")?.description == "600s")
    }

    @Test(arguments: ["strict_dns", "STRICT_DNS", "Strict_Dns", "1"])
    func enumsParseInAnyCaseOrByNumber(spelling: String) {
        let set = load(["cds.yaml": cds("type: \(spelling)").replacingOccurrences(of: "127.0.0.1", with: "localhost")])
        #expect(set.errorMessages.isEmpty)
        #expect(set.clusters.first?.discovery == .STRICT_DNS)
    }

    @Test func aSingleMappingWhereAListIsExpectedIsAOneElementList() {
        let set = load(["cds.yaml": cds("""
            type: LOGICAL_DNS
            dns_resolvers:
              socket_address: {address: 8.8.8.8, port_value: 53}
            """).replacingOccurrences(of: "127.0.0.1", with: "registry.example.com")])
        #expect(set.errorMessages.isEmpty)
        #expect(set.clusters.first?.dnsResolvers.map(\.description) == ["8.8.8.8:53"])
    }

    @Test func integersWrittenAsStringsAreIntegers() {
        let set = load(["cds.yaml": cds("per_connection_buffer_limit_bytes: \"32768\"").replacingOccurrences(of: "5000}", with: "\"5000\"}")])
        #expect(set.errorMessages.isEmpty)
        #expect(set.clusters.first?.perConnectionBufferLimitBytes == 32768)
        #expect(set.clusters.first?.allEndpoints.first?.address.portValue == 5000)
    }

    @Test func absentFieldsTakeEnvoysDefaultsAndSaySo() throws {
        let set = load(["cds.yaml": cds()])
        let cluster = try #require(set.clusters.first)
        #expect(cluster.connectTimeout == .seconds(5))
        #expect(cluster.discovery == .STATIC)
        #expect(cluster.lbPolicy == .ROUND_ROBIN)
        #expect(cluster.dnsLookupFamily == .AUTO)
        #expect(cluster.dnsRefreshRate == .seconds(5))
        #expect(cluster.perConnectionBufferLimitBytes == 1 << 20)
        #expect(cluster.source.isDefaulted("connect_timeout"))
        #expect(!cluster.source.isDefaulted("name"))
        let routed = load(["lds.yaml": lds(virtualHosts: """
                  - name: v
                    domains: ["*"]
                    routes:
                    - match: {prefix: "/"}
                      route: {cluster: c}
            """), "cds.yaml": cds()])
        let manager = try #require(routed.listeners.first?.filterChains.first?.httpConnectionManager)
        guard case .route(let action) = manager.routeConfig.virtualHosts[0].routes[0].action else {
            Issue.record("expected a route action")
            return
        }
        #expect(action.timeout == .seconds(15))
        #expect(action.source.isDefaulted("timeout"))
        #expect(manager.streamIdleTimeout == .seconds(300))
        #expect(manager.maxRequestHeadersKB == 60)
        #expect(manager.maxHeadersCount == 100)
        #expect(manager.serverName == "envoy")
        #expect(manager.routeConfig.validateClusters)
        #expect(manager.codecType == .AUTO)
    }

    @Test func legacyFormsLoadWithAWarning() throws {
        let seed = repositoryRoot.appendingPathComponent("examples/seed")
        let set = ConfigLoader.load(paths: ["envoy.yaml", "lds.yaml", "cds.yaml"].map { seed.appendingPathComponent($0).path })
        #expect(set.errorMessages.isEmpty)
        let warnings = set.warningMessages
        #expect(warnings.contains { $0.hasPrefix("router filter without 'typed_config' is accepted by mirrord") })
        #expect(warnings.contains("'access_log_path' is deprecated; use 'access_log'"))
        #expect(warnings.filter { $0.hasPrefix("'dns_resolvers' is deprecated") }.count == 2)
        #expect(warnings.filter { $0.hasPrefix("'path' is deprecated") }.count == 2)
        #expect(set.bootstrap?.admin?.accessLogs.map(\.path) == ["/dev/stdout"])
        // The seed's docker and quay routes keep Envoy's 15 s default, which cuts large layers.
        #expect(warnings.filter { $0.hasPrefix("route timeout (the default, 15s) spans the whole response") }.count == 2)
    }

    @Test func everyErrorOfAFileIsReportedInOneRun() {
        let set = load(["cds.yaml": cds("""
            connect_timeout: 5
            lb_policy: ROUND_ROBBIN
            typo_field: 1
            """).replacingOccurrences(of: "5000}", with: "99999}")])
        #expect(set.diagnostics.blockingErrors.count == 4)
        #expect(set.diagnostics.blockingErrors.map(\.location.line) == [5, 6, 7, 14])
    }

    @Test func unknownFieldsSuggestTheClosestName() {
        #expect(DidYouMean.suggestion(for: "conect_timeout", among: Cluster.fields) == "connect_timeout")
        #expect(DidYouMean.suggestion(for: "lb_endpoint", among: ["lb_endpoints", "locality"]) == "lb_endpoints")
        #expect(DidYouMean.suggestion(for: "zzz", among: Cluster.fields) == nil)
    }

    @Test func anchorsAliasesAndMergeKeysAreResolved() throws {
        let text = """
            version_info: "1"
            resources:
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: a
              <<: &common
                connect_timeout: 2s
                type: STATIC
              load_assignment: &assignment
                endpoints:
                - lb_endpoints:
                  - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: b
              <<: *common
              connect_timeout: 3s
              load_assignment: *assignment
            """
        let set = load(["cds.yaml": text])
        #expect(set.errorMessages.isEmpty)
        #expect(set.clusters.map(\.connectTimeout) == [.seconds(2), .seconds(3)])
        #expect(set.clusters.map { $0.allEndpoints.first?.address.description } == ["10.0.0.1:80", "10.0.0.1:80"])
    }

    @Test func jsonFilesLoadLikeYAML() {
        let json = #"{"version_info": "1", "resources": [{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "c", "connect_timeout": "1s", "load_assignment": {"endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 5000}}}}]}]}}]}"#
        let set = load(["cds.json": json])
        #expect(set.errorMessages.isEmpty)
        #expect(set.clusters.first?.connectTimeout == .seconds(1))
    }

    @Test func typeURLsMatchByMessageName() {
        let set = load(["cds.yaml": cds().replacingOccurrences(of: "type.googleapis.com/", with: "example.org/types/")])
        #expect(set.errorMessages.isEmpty)
        let noHost = load(["cds.yaml": cds().replacingOccurrences(of: "type.googleapis.com/", with: "")])
        #expect(noHost.errorMessages.first?.contains("is not a resource mirrord reads from files") == true)
    }

    @Test func nullValuesMeanFieldNotSet() {
        let set = load(["cds.yaml": cds("connect_timeout: ~\nlb_policy:")])
        #expect(set.errorMessages.isEmpty)
        #expect(set.clusters.first?.connectTimeout == .seconds(5))
    }

    @Test func upstreamTLSWithoutATrustedCAWarnsThatEnvoyWouldNotVerify() {
        let set = load(["cds.yaml": cds("""
            transport_socket:
              name: envoy.transport_sockets.tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                sni: registry.example.com
            """)])
        #expect(set.errorMessages.isEmpty)
        #expect(set.warningMessages.contains { $0.contains("Envoy would not verify this upstream's certificate") })
        #expect(set.clusters.first?.tls?.sni == "registry.example.com")
    }

    @Test func envoyCompatFindingsDoNotBlockMirrordButAreReported() {
        let seed = repositoryRoot.appendingPathComponent("examples/seed")
        let set = ConfigLoader.load(paths: ["envoy.yaml", "lds.yaml", "cds.yaml"].map { seed.appendingPathComponent($0).path })
        let compat = set.diagnostics.filter { $0.origin == .envoyCompat }
        #expect(set.isValid)
        #expect(compat.errors.map(\.message) == ["Didn't find a registered implementation for 'envoy.filters.http.router' with type URL: ''"])
        #expect(compat.errors.first?.location.line == 56)
    }

    static func mirrorFilter(_ config: String) -> String {
        lds(virtualHosts: """
            - name: v
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            """).replacingOccurrences(of: "        http_filters:\n", with: """
                    http_filters:
                    - name: mirrord.filters.http.registry_mirror
                      typed_config:
                        "@type": type.googleapis.com/mirrord.config.v1.RegistryMirror
            \(reindent(config, 12))

            """)
    }

    @Test func theRegistryMirrorFilterDecodesWithItsOptions() throws {
        // The htpasswd file must be readable (validate checks it as mirrord would).
        let htpasswd = NSTemporaryDirectory() + "mirrord-htpasswd-\(UUID().uuidString)"
        try "puller:$2y$05$abcdefghijklmnopqrstuv\n".write(toFile: htpasswd, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: htpasswd) }
        let set = load(["lds.yaml": Self.mirrorFilter("""
            cache: {path: /var/cache/mirrord, max_size: 50Gi}
            allow_private_upstreams: true
            max_requests_per_client: 32
            client_auth: {htpasswd: {filename: \(htpasswd)}}
            """), "cds.yaml": cds()])
        #expect(set.errorMessages.isEmpty, "\(set.errorMessages)")
        let filters = try #require(set.listeners.first?.filterChains.first?.httpConnectionManager?.httpFilters)
        guard case .registryMirror(let mirror) = filters.first?.kind else {
            Issue.record("expected the registry mirror filter first, got \(filters)")
            return
        }
        #expect(mirror.cachePath == "/var/cache/mirrord")
        #expect(mirror.maxCacheSize == 50 << 30)
        #expect(mirror.allowPrivateUpstreams)
        #expect(mirror.maxRequestsPerClient == 32)
        #expect(mirror.htpasswd == .filename(htpasswd))
        #expect(filters.last?.kind == .router)
    }

    @Test func registryMirrorFilterMistakesAreReported() {
        let relative = load(["lds.yaml": Self.mirrorFilter("cache: {path: cache, max_size: lots}"), "cds.yaml": cds()])
        #expect(relative.errorMessages.contains("the cache path must be absolute"))
        let size = load(["lds.yaml": Self.mirrorFilter("cache: {path: /c, max_size: 5 parsecs}"), "cds.yaml": cds()])
        #expect(size.errorMessages.contains { $0.hasPrefix("invalid size '5 parsecs'") })
        let missing = load(["lds.yaml": Self.mirrorFilter("allow_private_upstreams: true"), "cds.yaml": cds()])
        #expect(missing.errorMessages.contains("missing required field 'cache'"))
        let crossed = load(["lds.yaml": Self.mirrorFilter("cache: {path: /c}\nsuppress_envoy_headers: true"), "cds.yaml": cds()])
        #expect(crossed.errorMessages.contains("unknown field 'suppress_envoy_headers'"))
        #expect(ByteSize.parse("500Mi") == 500 << 20)
        #expect(ByteSize.parse("10G") == 10_000_000_000)
        #expect(ByteSize.parse("1024") == 1024)
        #expect(ByteSize.parse("99999999999Ti") == nil)
    }

    @Test func registryUpstreamOptionsDecodeWithTheirTagWindows() throws {
        let options = """
            typed_extension_protocol_options:
              mirrord.upstream:
                "@type": type.googleapis.com/mirrord.config.v1.UpstreamOptions
                registry:
                  name: gcr.io
                  aliases: [k8s.gcr.io]
                  tag_ttl: 60s
                  tag_stale_while_revalidate: 3600s
                  repositories: {allow: ["distroless/*"], deny: ["*/internal-*"]}
            """
        let set = load(["lds.yaml": Self.mirrorFilter("cache: {path: /c}"), "cds.yaml": cds(options)])
        #expect(set.errorMessages.isEmpty, "\(set.errorMessages)")
        let registry = try #require(set.clusters.first?.mirrordOptions?.registry)
        #expect(registry.name == "gcr.io")
        #expect(registry.aliases == ["k8s.gcr.io"])
        #expect(registry.tagTTL == .seconds(60))
        #expect(registry.tagStaleWhileRevalidate == .seconds(3600))
        #expect(registry.allowRepositories == ["distroless/*"])
        #expect(registry.denyRepositories == ["*/internal-*"])
        // Off unless asked for; a malformed window is an error at its field.
        let plain = load(["lds.yaml": Self.mirrorFilter("cache: {path: /c}"),
                          "cds.yaml": cds(options.replacingOccurrences(of: "      tag_stale_while_revalidate: 3600s\n", with: ""))])
        #expect(plain.clusters.first?.mirrordOptions?.registry?.tagStaleWhileRevalidate == .zero)
        let bad = load(["lds.yaml": Self.mirrorFilter("cache: {path: /c}"),
                        "cds.yaml": cds(options.replacingOccurrences(of: "3600s", with: "soon"))])
        #expect(bad.errorMessages.contains { $0.contains("soon") }, "\(bad.errorMessages)")
    }
}
