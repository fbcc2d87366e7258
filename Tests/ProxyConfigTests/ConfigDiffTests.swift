import Foundation
import Testing
@testable import ProxyConfig

/// `mirrorctl diff` semantics: by resource name, field paths, and no diff for equivalent spellings.
@Suite struct ConfigDiffTests {
    static let hosts = """
        - name: gcr
          domains: ["gcr.example.com"]
          routes:
          - match: {prefix: "/"}
            route: {cluster: c, timeout: 600s}
        - name: quay
          domains: ["quay.example.com"]
          routes:
          - match: {prefix: "/"}
            route: {cluster: c}
        """

    func diff(_ old: String, _ new: String, file: String = "cds.yaml") -> ConfigDiff {
        ConfigDiff(old: load([file: old]), new: load([file: new]))
    }

    @Test func equivalentSpellingsAreTheSame() {
        let old = cds("""
            connect_timeout: 1s
            type: strict_dns
            dns_resolvers:
              socket_address: {address: 8.8.8.8, port_value: 53}
            """)
        let new = cds("""
            dns_resolvers:
            - socket_address: {port_value: "53", address: 8.8.8.8}
            type: STRICT_DNS
            connect_timeout: 1.000s
            """)
        #expect(diff(old, new).isEmpty)
    }

    @Test func writingADefaultExplicitlyIsNoChange() {
        #expect(diff(cds(), cds("connect_timeout: 5s\nlb_policy: ROUND_ROBIN")).isEmpty)
    }

    @Test func aChangedFieldIsReportedWithItsPathAndValues() throws {
        let result = diff(cds("connect_timeout: 1s"), cds("connect_timeout: 2s"))
        let change = try #require(result.changes.first)
        #expect(result.changes.count == 1)
        #expect(change.resource == "cluster" && change.name == "c" && change.kind == .modified)
        #expect(change.fields.map(\.path) == ["connect_timeout"])
        #expect(change.fields.first?.old == .string("1s"))
        #expect(change.fields.first?.new == .string("2s"))
    }

    @Test func clustersAddedAndRemovedByName() {
        let result = diff(cds(name: "a"), cds(name: "b"))
        #expect(result.changes.map { "\($0.kind) \($0.resource) \($0.name)" } == ["removed cluster a", "added cluster b"])
    }

    @Test func virtualHostsAndRoutesArePairedByName() {
        let old = lds(virtualHosts: Self.hosts)
        let new = lds(virtualHosts: Self.hosts.replacingOccurrences(of: "timeout: 600s", with: "timeout: 0s")
            + "\n- name: ghcr\n  domains: [\"ghcr.example.com\"]\n  routes: []")
        let result = diff(old, new, file: "lds.yaml")
        #expect(result.changes.count == 1)
        let paths = result.changes.first?.fields.map(\.path) ?? []
        #expect(paths == [
            "filter_chains[0].http_connection_manager.route_config.virtual_hosts[gcr].routes[0].action.route.timeout",
            "filter_chains[0].http_connection_manager.route_config.virtual_hosts[ghcr]",
        ])
        #expect(result.changes.first?.fields.last?.old == nil)
    }

    @Test func reorderedVirtualHostsAreNotAChangeButReorderedRoutesAre() {
        let swapped = """
            - name: quay
              domains: ["quay.example.com"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c}
            - name: gcr
              domains: ["gcr.example.com"]
              routes:
              - match: {prefix: "/"}
                route: {cluster: c, timeout: 600s}
            """
        let hostsOrder = diff(lds(virtualHosts: Self.hosts), lds(virtualHosts: swapped), file: "lds.yaml")
        #expect(hostsOrder.isEmpty)
        let routes = """
            - name: v
              domains: ["*"]
              routes:
              - match: {prefix: "/a"}
                route: {cluster: c}
              - match: {prefix: "/"}
                route: {cluster: c}
            """
        let reordered = routes.replacingOccurrences(of: "prefix: \"/a\"", with: "prefix: \"/TMP\"")
            .replacingOccurrences(of: "prefix: \"/\"}", with: "prefix: \"/a\"}").replacingOccurrences(of: "/TMP", with: "/")
        let routeOrder = diff(lds(virtualHosts: routes), lds(virtualHosts: reordered), file: "lds.yaml")
        #expect(routeOrder.changes.first?.fields.map(\.path) == [
            "filter_chains[0].http_connection_manager.route_config.virtual_hosts[v].routes[0].match.path.prefix",
            "filter_chains[0].http_connection_manager.route_config.virtual_hosts[v].routes[1].match.path.prefix",
        ])
        let named = routes.replacingOccurrences(of: "- match: {prefix: \"/a\"}", with: "- name: a\n    match: {prefix: \"/a\"}")
            .replacingOccurrences(of: "- match: {prefix: \"/\"}", with: "- name: all\n    match: {prefix: \"/\"}")
        let namedSwapped = """
            - name: v
              domains: ["*"]
              routes:
              - name: all
                match: {prefix: "/"}
                route: {cluster: c}
              - name: a
                match: {prefix: "/a"}
                route: {cluster: c}
            """
        let namedOrder = diff(lds(virtualHosts: named), lds(virtualHosts: namedSwapped), file: "lds.yaml")
        #expect(namedOrder.changes.first?.fields.map(\.path) == [
            "filter_chains[0].http_connection_manager.route_config.virtual_hosts[v].routes (order)",
        ])
    }
}
