/// The load-time rules of one route configuration: unique domains, one `*`, clusters that exist, body sizes.
enum RouteConfigurationRules {
    /// `clusters` is nil when no cluster source was loaded: references cannot be checked then.
    static func check(_ config: RouteConfiguration, clusters: Set<String>?, registryClusters: Set<String> = [],
                      into issues: inout [Diagnostic]) {
        var domains: [String: String] = [:]
        var wildcardHost: String?
        let routeName = config.name.isEmpty ? "(unnamed)" : config.name
        for host in config.virtualHosts {
            for domain in host.domains {
                if domain == "*" {
                    if wildcardHost != nil {
                        issues.append(Diagnostic(.error, at: host.source.location(of: "domains"), path: host.source.path("domains"),
                                                 "Only a single wildcard domain is permitted in route \(routeName)"))
                    }
                    wildcardHost = host.name
                }
                if let other = domains[domain], domain != "*" {
                    issues.append(Diagnostic(
                        .error, at: host.source.location(of: "domains"), path: host.source.path("domains"),
                        "Only unique values for domains are permitted. Duplicate entry of domain \(domain) in route \(routeName) (also in virtual host \(other))"))
                } else {
                    domains[domain] = host.name
                }
            }
            var seenNames: Set<String> = []
            for route in host.routes {
                Self.checkRoute(route, host: host, config: config, clusters: clusters, registryClusters: registryClusters,
                                into: &issues)
                if let name = route.name, !seenNames.insert(name).inserted {
                    issues.append(Diagnostic(.warning, at: route.source.location, path: route.source.path("name"),
                                             "two routes named '\(name)' in virtual host \(host.name)"))
                }
            }
        }
        var hostNames: Set<String> = []
        for host in config.virtualHosts where !hostNames.insert(host.name).inserted {
            issues.append(Diagnostic(.error, at: host.source.location, path: host.source.path("name"),
                                     "duplicate virtual host name '\(host.name)' in route \(routeName)"))
        }
    }

    static func checkRoute(_ route: Route, host: VirtualHost, config: RouteConfiguration, clusters: Set<String>?,
                           registryClusters: Set<String> = [], into issues: inout [Diagnostic]) {
        switch route.action {
        case .route(let action):
            Self.checkLayerTimeout(route, action: action, registryClusters: registryClusters, into: &issues)
            for name in action.clusterNames where clusters.map({ !$0.contains(name) }) ?? false {
                if config.validateClusters {
                    issues.append(Diagnostic(.error, at: action.source.location(of: action.clusterNames.count > 1 ? "weighted_clusters" : "cluster"), path: action.source.path(action.clusterNames.count > 1 ? "weighted_clusters" : "cluster"),
                                             "route references unknown cluster '\(name)'\(DidYouMean.phrase(for: name, among: clusters ?? []))"))
                } else {
                    issues.append(Diagnostic(.warning, at: action.source.location(of: action.clusterNames.count > 1 ? "weighted_clusters" : "cluster"), path: action.source.path(action.clusterNames.count > 1 ? "weighted_clusters" : "cluster"),
                                             "cluster '\(name)' is not defined; requests get \(action.clusterNotFoundResponseCode.status) until it is"))
                }
            }
            if case .prefix(let rewrite)? = action.pathRewrite, case .safeRegex = route.match.path {
                _ = rewrite
                issues.append(Diagnostic(.error, at: action.source.location, path: action.source.path("prefix_rewrite"),
                                         "prefix_rewrite cannot be used with a safe_regex match; use regex_rewrite"))
            }
        case .directResponse(let response):
            if case .inlineString(let body)? = response.body, body.utf8.count > config.maxDirectResponseBodySizeBytes {
                issues.append(Diagnostic(.error, at: route.source.location, path: route.source.path("direct_response.body"),
                                         "body is \(body.utf8.count) bytes; the limit is max_direct_response_body_size_bytes (\(config.maxDirectResponseBodySizeBytes))"))
            }
        case .redirect:
            break
        }
    }

    /// Envoy's route timeout covers the whole response body: on a registry route it cuts every layer that takes
    /// longer to download (the seed's docker and quay routes have the 15 s default).
    static func checkLayerTimeout(_ route: Route, action: RouteAction, registryClusters: Set<String>,
                                  into issues: inout [Diagnostic]) {
        guard !action.timeout.isZero, action.timeout < .seconds(3600) else { return }
        var registryPath = false
        if case .prefix(let prefix) = route.match.path { registryPath = prefix.hasPrefix("/v2") }
        if case .pathSeparatedPrefix(let prefix) = route.match.path { registryPath = prefix.hasPrefix("/v2") }
        guard registryPath || action.clusterNames.contains(where: registryClusters.contains) else { return }
        let spelled = action.source.isDefaulted("timeout") ? "(the default, \(action.timeout))" : "\(action.timeout)"
        issues.append(Diagnostic(
            .warning, at: action.source.location(of: "timeout"), path: action.source.path("timeout"),
            "route timeout \(spelled) spans the whole response: a registry layer that takes longer to download is cut; "
                + "use 'timeout: 0s' with an 'idle_timeout'"))
    }
}
