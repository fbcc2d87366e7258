import Foundation
import ProxyConfig

/// The bodies of the admin endpoints, in Envoy's shapes where Envoy has one.
enum AdminViews {
    static func json(_ tree: ConfigTree) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(tree)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? "{}\n"
    }

    static func timestamp(_ date: Date?) -> ConfigTree {
        date.map { .string($0.formatted(.iso8601)) } ?? .null
    }

    static func serverInfo(_ admin: AdminServer) -> String {
        let uptime = Int(Date().timeIntervalSince(admin.started))
        var node: [String: ConfigTree] = [:]
        if let id = admin.node?.id { node["id"] = .string(id) }
        if let cluster = admin.node?.cluster { node["cluster"] = .string(cluster) }
        return json(.object([
            "version": .string("mirrord/\(ProxyServer.version)"),
            "state": .string(admin.state),
            "uptime_current_epoch": .string("\(uptime)s"),
            "uptime_all_epochs": .string("\(uptime)s"),
            "command_line_options": .object(["drain_time": .string("\(admin.server.drainTime.components.seconds)s")]),
            "node": .object(node),
        ]))
    }

    static func configDump(_ admin: AdminServer) -> String {
        let snapshot = admin.server.currentSnapshot
        let versions: (lds: String?, cds: String?) = admin.reloader?.versions ?? (nil, nil)
        let updated = timestamp(admin.reloader?.lastUpdated)
        let clusters: [ConfigTree] = (snapshot?.clusters.values.sorted { $0.name < $1.name } ?? []).map { cluster in
            var tree = ConfigTree(cluster)
            if case .object(var fields) = tree { fields["@type"] = .string(TypeURL.cluster); tree = .object(fields) }
            return .object(["version_info": versions.cds.map(ConfigTree.string) ?? .null, "cluster": tree, "last_updated": updated])
        }
        let listeners: [ConfigTree] = (snapshot?.listeners ?? []).map { listener in
            var tree = ConfigTree(listener)
            if case .object(var fields) = tree { fields["@type"] = .string(TypeURL.listener); tree = .object(fields) }
            return .object(["name": .string(listener.name), "active_state": .object([
                "version_info": versions.lds.map(ConfigTree.string) ?? .null, "listener": tree, "last_updated": updated,
            ])])
        }
        var listenersDump: [String: ConfigTree] = [
            "@type": .string("type.googleapis.com/envoy.admin.v3.ListenersConfigDump"),
            "version_info": versions.lds.map(ConfigTree.string) ?? .null,
            "dynamic_listeners": .list(listeners),
        ]
        if let error = admin.reloader?.errorState {
            // mirrord rejects a reload whole, so its error state belongs to the update, not to one listener.
            listenersDump["error_state"] = .object([
                "last_update_attempt": timestamp(error.time),
                "details": .string(error.details.joined(separator: "\n")),
            ])
        }
        var node: [String: ConfigTree] = [:]
        if let id = admin.node?.id { node["id"] = .string(id) }
        if let cluster = admin.node?.cluster { node["cluster"] = .string(cluster) }
        return json(.object(["configs": .list([
            .object(["@type": .string("type.googleapis.com/envoy.admin.v3.BootstrapConfigDump"),
                     "bootstrap": .object(["node": .object(node)]), "last_updated": timestamp(admin.started)]),
            .object(["@type": .string("type.googleapis.com/envoy.admin.v3.ClustersConfigDump"),
                     "version_info": versions.cds.map(ConfigTree.string) ?? .null,
                     "dynamic_active_clusters": .list(clusters)]),
            .object(listenersDump),
        ])]))
    }

    static func clustersText(_ admin: AdminServer) -> String {
        var lines: [String] = []
        if let version = admin.reloader?.versions.cds { lines.append("version_info::\(version)") }
        for cluster in admin.server.activeClusters() {
            let name = cluster.config.name, limits = cluster.limits
            for priority in ["default_priority", "high_priority"] {
                lines += ["\(name)::\(priority)::max_connections::\(limits.maxConnections)",
                          "\(name)::\(priority)::max_pending_requests::\(limits.maxPendingRequests)",
                          "\(name)::\(priority)::max_requests::\(limits.maxRequests)",
                          "\(name)::\(priority)::max_retries::\(limits.maxRetries)"]
            }
            lines.append("\(name)::added_via_api::true")
            for host in cluster.endpoints {
                let key = "\(name)::\(host)"
                lines += cluster.hostStats(host).map { "\(key)::\($0.0)::\($0.1)" }
                lines += ["\(key)::hostname::\(host.hostname ?? "")",
                          "\(key)::health_flags::healthy", "\(key)::weight::1"]
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func clustersJSON(_ admin: AdminServer) -> String {
        json(.object(["cluster_statuses": .list(admin.server.activeClusters().map { cluster in
            .object(["name": .string(cluster.config.name), "added_via_api": .bool(true),
                     "host_statuses": .list(cluster.endpoints.map { host in
                         .object(["address": .object(["socket_address": .object([
                             "address": .string(host.host), "port_value": .number(Double(host.port))])]),
                                  "hostname": .string(host.hostname ?? ""),
                                  "stats": .list(cluster.hostStats(host).map { stat in
                                      .object(["name": .string(stat.0), "value": .number(Double(stat.1))])
                                  }),
                                  "health_status": .object(["eds_health_status": .string("HEALTHY")])])
                     })])
        })]))
    }

    static func listenersText(_ admin: AdminServer) -> String {
        admin.server.activeListeners().map { "\($0.name)::\($0.address)" }.joined(separator: "\n") + "\n"
    }

    static func listenersJSON(_ admin: AdminServer) -> String {
        json(.object(["listener_statuses": .list(admin.server.activeListeners().map { listener in
            .object(["name": .string(listener.name),
                     "local_address": .object(["socket_address": .object(["address": .string(listener.host),
                                                                          "port_value": .number(Double(listener.port))])])])
        })]))
    }

    static func stats(_ admin: AdminServer, filter: String?, usedOnly: Bool) -> [(name: String, value: String)]? {
        var regex: NSRegularExpression?
        if let filter, !filter.isEmpty {
            guard let compiled = try? NSRegularExpression(pattern: filter) else { return nil }
            regex = compiled
        }
        var all = admin.server.stats.snapshot().filter { !usedOnly || $0.value != 0 }.map { ($0.name, String($0.value)) }
        let versions: (lds: String?, cds: String?) = admin.reloader?.versions ?? (nil, nil)
        all.append(("listener_manager.lds.version_text", "\"\(versions.lds ?? "")\""))
        all.append(("cluster_manager.cds.version_text", "\"\(versions.cds ?? "")\""))
        all.append(("server.live", admin.state == "LIVE" ? "1" : "0"))
        all.append(("server.uptime", String(Int(Date().timeIntervalSince(admin.started)))))
        all.sort { $0.0 < $1.0 }
        guard let regex else { return all.map { (name: $0.0, value: $0.1) } }
        return all.filter { regex.firstMatch(in: $0.0, range: NSRange($0.0.startIndex..., in: $0.0)) != nil }
            .map { (name: $0.0, value: $0.1) }
    }

    static func statsJSON(_ stats: [(name: String, value: String)]) -> String {
        json(.object(["stats": .list(stats.map { stat in
            .object(["name": .string(stat.name), "value": Int(stat.value).map { .number(Double($0)) } ?? .string(stat.value)])
        })]))
    }

    static func prometheus(_ admin: AdminServer) -> String {
        let clusters = admin.server.activeClusters().map(\.config.name)
        let prefixes = (admin.server.currentSnapshot?.listeners ?? []).flatMap(\.allFilterChains)
            .compactMap { $0.httpConnectionManager?.statPrefix }
        return PrometheusFormat.render(admin.server.stats.snapshot(), clusters: clusters, prefixes: prefixes)
    }
}
