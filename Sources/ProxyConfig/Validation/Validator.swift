/// Checks that span resources and files: names, addresses, references, and the rules Envoy applies at load.
public enum Validator {
    public static func validate(_ set: ConfigSet) -> [Diagnostic] {
        var issues: [Diagnostic] = []
        Self.checkUniqueNames(set, into: &issues)
        Self.checkAddresses(set, into: &issues)
        // With only an LDS file there is nothing to check references against; say so once.
        let clusterSourceLoaded = set.bootstrap != nil || set.cdsPath != nil || !set.clusters.isEmpty
        let clusterNames: Set<String>? = clusterSourceLoaded ? Set(set.clusters.map(\.name)) : nil
        if !clusterSourceLoaded, let first = set.listeners.first {
            issues.append(Diagnostic(.warning, at: first.source.location, path: "",
                                     "no CDS file given: cluster references are not checked (pass the CDS file too)"))
        }
        // Resources that already failed to decode get no further checks, so one mistake gives one message.
        let broken = set.diagnostics.blockingErrors.map { (file: $0.location.file, path: $0.path) }
        func isBroken(_ source: SourceInfo) -> Bool {
            broken.contains { error in
                error.file == source.location.file && (error.path == source.path
                    || error.path.hasPrefix(source.path + ".") || error.path.hasPrefix(source.path + "["))
            }
        }
        let registries = Set(set.clusters.filter { cluster in
            cluster.allEndpoints.contains { RegistryHosts.isRegistry($0.address.address) }
        }.map(\.name))
        for listener in set.listeners where !isBroken(listener.source) {
            Self.checkListener(listener, clusters: clusterNames, registryClusters: registries, into: &issues)
        }
        for cluster in set.clusters where !isBroken(cluster.source) { Self.checkCluster(cluster, into: &issues) }
        return issues
    }

    static func checkUniqueNames(_ set: ConfigSet, into issues: inout [Diagnostic]) {
        Self.checkUnique("listener", set.listeners.map { ($0.name, $0.source) }, into: &issues)
        Self.checkUnique("cluster", set.clusters.map { ($0.name, $0.source) }, into: &issues)
    }

    /// Envoy's `duplicate listener <n> found` / `duplicate cluster <n> found`, at the second copy.
    static func checkUnique(_ kind: String, _ resources: [(name: String, source: SourceInfo)], into issues: inout [Diagnostic]) {
        var seen: [String: SourceLocation] = [:]
        for resource in resources {
            if let first = seen[resource.name] {
                issues.append(Diagnostic(.error, at: resource.source.location, path: resource.source.path("name"),
                                         "duplicate \(kind) \(resource.name) found (first at \(first))"))
            } else {
                seen[resource.name] = resource.source.location
            }
        }
    }

    static func checkAddresses(_ set: ConfigSet, into issues: inout [Diagnostic]) {
        var bound: [(name: String, address: SocketAddress)] = []
        if let admin = set.bootstrap?.admin?.address, admin.portValue != 0 { bound.append(("admin", admin)) }
        for listener in set.listeners where listener.address.portValue != 0 {
            let address = listener.address
            if let other = bound.first(where: { Self.overlaps($0.address, address) }) {
                issues.append(Diagnostic(
                    .error, at: address.source.location, path: address.source.path,
                    "listener \(listener.name) has duplicate address \(address) as existing \(other.name == "admin" ? "admin endpoint" : "listener \(other.name)") (\(other.address))"))
            } else {
                bound.append((listener.name, address))
            }
        }
    }

    /// Two sockets collide when the ports match and either host is a wildcard or both are the same.
    static func overlaps(_ a: SocketAddress, _ b: SocketAddress) -> Bool {
        guard a.portValue == b.portValue else { return false }
        let aV6 = a.address.contains(":"), bV6 = b.address.contains(":")
        if a.address == b.address { return true }
        if IPAddress.isWildcard(a.address), aV6 == bV6 || a.address == "::" { return true }
        if IPAddress.isWildcard(b.address), aV6 == bV6 || b.address == "::" { return true }
        return false
    }

    static func checkListener(_ listener: Listener, clusters: Set<String>?, registryClusters: Set<String> = [],
                              into issues: inout [Diagnostic]) {
        var seenMatches: [String: SourceLocation] = [:]
        for chain in listener.allFilterChains {
            let key = chain.serverNames.sorted().joined(separator: ",") + "|" + (chain.transportProtocol ?? "")
                + "|" + chain.applicationProtocols.sorted().joined(separator: ",")
            if chain != listener.defaultFilterChain {
                if let first = seenMatches[key] {
                    issues.append(Diagnostic(.error, at: chain.source.location, path: chain.source.path("filter_chain_match"),
                                             "listener \(listener.name): multiple filter chains with the same matching rules (first at \(first))"))
                } else {
                    seenMatches[key] = chain.source.location
                }
            }
            if !chain.serverNames.isEmpty, chain.tls == nil, !listener.usesTLSInspector {
                issues.append(Diagnostic(.warning, at: chain.source.location, path: chain.source.path("filter_chain_match.server_names"),
                                         "server_names match on TLS SNI, but this chain has no TLS transport socket"))
            }
            guard let manager = chain.httpConnectionManager else {
                issues.append(Diagnostic(.error, at: chain.source.location, path: chain.source.path("filters"),
                                         "a filter chain needs an envoy.filters.network.http_connection_manager filter"))
                continue
            }
            Self.checkConnectionManager(manager, clusters: clusters, registryClusters: registryClusters, into: &issues)
        }
    }

    static func checkConnectionManager(_ manager: HTTPConnectionManager, clusters: Set<String>?,
                                       registryClusters: Set<String> = [], into issues: inout [Diagnostic]) {
        let routers = manager.httpFilters.filter { $0.kind == .router }
        if manager.httpFilters.isEmpty {
            issues.append(Diagnostic(.error, at: manager.source.location, path: manager.source.path("http_filters"),
                                     "http_filters must end with the router filter (envoy.filters.http.router)"))
        } else if manager.httpFilters.last?.kind != .router {
            issues.append(Diagnostic(.error, at: manager.httpFilters.last!.source.location, path: manager.httpFilters.last!.source.path,
                                     "the router filter must be the last HTTP filter"))
        }
        let mirrors = manager.httpFilters.filter { if case .registryMirror = $0.kind { return true } else { return false } }
        if mirrors.count > 1 {
            issues.append(Diagnostic(.error, at: mirrors[1].source.location, path: mirrors[1].source.path,
                                     "the registry mirror filter may appear only once per connection manager"))
        }
        if routers.count > 1 {
            issues.append(Diagnostic(.error, at: routers[1].source.location, path: routers[1].source.path,
                                     "the router filter may appear only once"))
        }
        RouteConfigurationRules.check(manager.routeConfig, clusters: clusters, registryClusters: registryClusters,
                                      into: &issues)
    }

    static func checkCluster(_ cluster: Cluster, into issues: inout [Diagnostic]) {
        let count = cluster.allEndpoints.count
        if cluster.discovery == .LOGICAL_DNS, count != 1 || cluster.endpoints.count != 1 {
            issues.append(Diagnostic(.error, at: cluster.source.location(of: "load_assignment"), path: cluster.source.path("load_assignment"),
                                     "LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint"))
        }
        if count == 0, cluster.discovery != .EDS {
            issues.append(Diagnostic(.warning, at: cluster.source.location(of: "load_assignment"), path: cluster.source.path("load_assignment"),
                                     "cluster \(cluster.name) has no endpoints; requests routed to it get 503"))
        }
        if !cluster.dnsResolvers.isEmpty, cluster.discovery == .STATIC {
            issues.append(Diagnostic(.warning, at: cluster.source.location(of: "dns_resolvers"), path: cluster.source.path("dns_resolvers"),
                                     "dns_resolvers has no effect on a STATIC cluster"))
        }
        if let tls = cluster.tls, tls.common.validation?.trustedCA == nil {
            issues.append(Diagnostic(
                .warning, at: tls.source.location, path: tls.source.path,
                "no validation_context.trusted_ca: Envoy would not verify this upstream's certificate; mirrord verifies it against the system trust store"))
        }
        if let tls = cluster.tls, tls.sni == nil, !tls.autoHostSNI, !(cluster.protocolOptions?.autoSNI ?? false),
           cluster.allEndpoints.contains(where: { !$0.address.isIPLiteral }) {
            issues.append(Diagnostic(.warning, at: tls.source.location, path: tls.source.path,
                                     "no 'sni': Envoy sends no SNI, and most public registries refuse such connections"))
        }
    }
}
