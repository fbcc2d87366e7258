import Foundation
import Testing
@testable import ProxyConfig

/// Envoy's matching rules (research/envoy.md §4), one row per rule, against the same `RouteTable` the data plane uses.
@Suite struct RouteTableTests {
    static let set = load([
        "lds.yaml": lds(virtualHosts: """
            - name: exact
              domains: ["gcr.example.com", "Quay.Example.com"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            - name: long-suffix
              domains: ["*-mirror.example.com"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            - name: short-suffix
              domains: ["*.example.com"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            - name: long-prefix
              domains: ["registry-eu.*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            - name: short-prefix
              domains: ["registry*"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            - name: with-port
              domains: ["mirror:5000"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            - name: default
              domains: ["*"]
              routes:
              - match: {path: "/exact"}
                route: {cluster: c}
                name: exact-path
              - match: {prefix: "/v2/library/", case_sensitive: false}
                route: {cluster: c, prefix_rewrite: "/v2/mirror/library/"}
                name: library
              - match: {safe_regex: {regex: "/v2/[a-z]+/blobs/sha256:[0-9a-f]{4}"}}
                route: {cluster: c, regex_rewrite: {pattern: {regex: "^/v2/([a-z]+)/"}, substitution: "/cache/\\\\1/"}}
                name: blob-regex
              - match: {path_separated_prefix: "/api"}
                route: {cluster: c, host_rewrite_literal: upstream.example.com}
                name: api
              - match:
                  prefix: "/h"
                  headers:
                  - {name: x-env, string_match: {exact: prod}}
                  - {name: x-debug, present_match: true, invert_match: true}
                route: {cluster: c}
                name: header-prod
              - match:
                  prefix: "/h"
                  headers:
                  - {name: ":authority", string_match: {suffix: ".internal", ignore_case: true}}
                route: {cluster: c}
                name: header-authority
              - match:
                  prefix: "/h"
                  headers:
                  - {name: x-version, range_match: {start: 2, end: 4}}
                route: {cluster: c}
                name: header-range
              - match:
                  prefix: "/q"
                  query_parameters:
                  - {name: ns, string_match: {exact: gcr.io}}
                route: {cluster: c}
                name: query-ns
              - match: {prefix: "/redirect"}
                redirect: {https_redirect: true, host_redirect: secure.example.com, strip_query: true}
                name: redirect
              - match: {prefix: "/direct"}
                direct_response: {status: 418, body: {inline_string: teapot}}
                name: direct
              - match: {prefix: "/w"}
                route:
                  weighted_clusters:
                    clusters:
                    - {name: c, weight: 1}
                    - {name: d, weight: 3}
                name: weighted
              - match: {prefix: "/"}
                route: {cluster: c}
                name: catch-all
              - match: {prefix: "/never"}
                route: {cluster: c}
                name: shadowed
            """),
        "cds.yaml": cds() + "\n" + cds(name: "d").split(separator: "\n").dropFirst(2).joined(separator: "\n"),
    ])

    static var table: RouteTable { RouteTable(set.listeners[0].filterChains[0].httpConnectionManager!.routeConfig) }

    @Test func theTestConfigurationIsValid() {
        #expect(Self.set.diagnostics.blockingErrors.isEmpty, "\(Self.set.diagnostics.blockingErrors)")
    }

    @Test(arguments: [
        ("gcr.example.com", "exact"),            // exact wins over every wildcard
        ("GCR.Example.COM", "exact"),            // host lower-cased
        ("quay.example.com", "exact"),           // domains lower-cased at load
        ("eu-mirror.example.com", "long-suffix"),// longest *suffix first
        ("a.example.com", "short-suffix"),
        ("a.b.example.com", "short-suffix"),
        (".example.com", "default"),             // a wildcard must match at least one character
        ("registry-eu.acme", "long-prefix"),     // longest prefix* first
        ("registry.acme", "short-prefix"),
        ("registry", "default"),                 // prefix wildcard needs one more character
        ("gcr.example.com:443", "default"),      // port not stripped: neither exact nor *.example.com
        ("mirror:5000", "with-port"),
        ("mirror", "default"),
        ("unknown.org", "default"),
    ])
    func virtualHostSelection(host: String, expected: String) {
        #expect(Self.table.virtualHost(for: host)?.name == expected)
    }

    @Test(arguments: [
        ("/exact", "exact-path"),
        ("/exact?x=1", "exact-path"),             // query ignored by path matchers
        ("/exact/", "catch-all"),
        ("/V2/Library/alpine/manifests/3", "library"), // case_sensitive: false
        ("/v2/abc/blobs/sha256:abcd", "blob-regex"),
        ("/v2/abc/blobs/sha256:abcd?digest=1", "blob-regex"), // regex sees the path without query
        ("/v2/ABC/blobs/sha256:abcd", "catch-all"),     // regex ignores case_sensitive: still case-sensitive
        ("/v2/abc/blobs/sha256:abcde", "catch-all"),    // full match, not partial
        ("/api", "api"), ("/api/", "api"), ("/api?x", "api"), ("/apix", "catch-all"),
        ("/never", "catch-all"),                         // first match wins, later routes are shadowed
        ("/q?ns=gcr.io", "query-ns"),
        ("/q?ns=quay.io&ns=gcr.io", "catch-all"),        // only the first value of a repeated key counts
        ("/redirect", "redirect"), ("/direct", "direct"), ("/w", "weighted"),
    ])
    func routeSelection(path: String, expected: String) {
        let decision = Self.table.match(RouteRequest(host: "any.host", path: path))
        #expect(decision?.route.name == expected)
    }

    @Test(arguments: [
        ([("x-env", "prod")], "header-prod"),
        ([("x-env", "prod"), ("x-debug", "1")], "catch-all"),  // inverted presence
        ([("x-env", "dev")], "catch-all"),
        ([("x-version", "3")], "header-range"),                 // start inclusive, end exclusive
        ([("x-version", "4")], "catch-all"),
        ([("X-Env", "prod")], "header-prod"),                   // header names are case-insensitive
    ])
    func headerMatching(headers: [(String, String)], expected: String) {
        let decision = Self.table.match(RouteRequest(host: "any.host", path: "/h", headers: headers))
        #expect(decision?.route.name == expected)
    }

    @Test func authorityHeaderMatchesTheHost() {
        let decision = Self.table.match(RouteRequest(host: "Box.INTERNAL", path: "/h"))
        #expect(decision?.route.name == "header-authority")
    }

    @Test func prefixRewriteReplacesTheMatchedPrefixAndKeepsTheQuery() throws {
        let decision = try #require(Self.table.match(RouteRequest(host: "x", path: "/V2/Library/alpine/manifests/3?a=b")))
        #expect(decision.upstreamPath == "/v2/mirror/library/alpine/manifests/3?a=b")
        #expect(decision.addedHeaders.map(\.0) == ["x-envoy-original-path"])
        #expect(decision.addedHeaders.first?.1 == "/V2/Library/alpine/manifests/3?a=b")
    }

    @Test func regexRewriteSubstitutesCaptureGroups() throws {
        let decision = try #require(Self.table.match(RouteRequest(host: "x", path: "/v2/abc/blobs/sha256:abcd")))
        #expect(decision.upstreamPath == "/cache/abc/blobs/sha256:abcd")
    }

    @Test func hostRewriteLiteralKeepsTheOriginalHost() throws {
        let decision = try #require(Self.table.match(RouteRequest(host: "mirror.local:5000", path: "/api/v1")))
        #expect(decision.upstreamHost == "upstream.example.com")
        #expect(decision.upstreamPath == "/api/v1")
        #expect(decision.addedHeaders.first.map { "\($0.0)=\($0.1)" } == "x-envoy-original-host=mirror.local:5000")
    }

    @Test func weightedClustersSplitByRelativeWeight() throws {
        let decision = try #require(Self.table.match(RouteRequest(host: "x", path: "/w")))
        let picks = (0..<4).map { decision.cluster(random: UInt64($0)) }
        #expect(picks == ["c", "d", "d", "d"])
    }

    @Test func redirectBuildsTheLocation() throws {
        let request = RouteRequest(host: "plain.example.org:8080", path: "/redirect/x?token=1")
        let decision = try #require(Self.table.match(request))
        #expect(decision.redirectLocation(for: request) == "https://secure.example.com/redirect/x")
    }

    @Test func noVirtualHostMeansNoRoute() {
        let table = RouteTable(RouteConfiguration(name: "r", virtualHosts: [], requestHeaders: .init(),
                                                  responseHeaders: .init(), validateClusters: true,
                                                  ignorePortInHostMatching: false, mostSpecificHeaderMutationsWins: false,
                                                  maxDirectResponseBodySizeBytes: 4096, source: .unknown))
        #expect(table.match(RouteRequest(host: "a", path: "/")) == nil)
    }

    @Test func ignorePortInHostMatchingStripsThePort() {
        let set = load(["lds.yaml": lds(virtualHosts: """
            - name: gcr
              domains: ["gcr.example.com"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            """, routeConfigExtra: "ignore_port_in_host_matching: true"), "cds.yaml": cds()])
        let table = RouteTable(set.listeners[0].filterChains[0].httpConnectionManager!.routeConfig)
        #expect(table.virtualHost(for: "gcr.example.com:5000")?.name == "gcr")
        #expect(table.virtualHost(for: "[::1]:5000") == nil)
    }

    @Test func theSeedRoutesEachVirtualHostWithItsHostRewrite() throws {
        let seed = repositoryRoot.appendingPathComponent("examples/seed")
        let set = ConfigLoader.load(paths: ["lds.yaml", "cds.yaml"].map { seed.appendingPathComponent($0).path })
        let table = RouteTable(try #require(set.listeners.first?.filterChains.first?.httpConnectionManager).routeConfig)
        let cases = [("gcr.xxx.com", "gcr", "gcr.xxx.com"), ("quay.xxx.com", "quay", "quay.io"),
                     ("docker.xxx.com", "dockerhub", "registry-1.docker.io")]
        for (host, cluster, upstream) in cases {
            let decision = try #require(table.match(RouteRequest(host: host, path: "/v2/")))
            #expect(decision.cluster() == cluster)
            #expect(decision.upstreamHost == upstream)
        }
        #expect(table.match(RouteRequest(host: "docker.xxx.com:18080", path: "/v2/")) == nil)
    }
}
