import Foundation

/// Envoy's Prometheus exposition: `envoy_` + the stat name with its tags pulled out as labels.
///
/// `cluster.gcr.upstream_rq_total` → `envoy_cluster_upstream_rq_total{envoy_cluster_name="gcr"}`,
/// `cluster.gcr.upstream_rq_200` → `envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="gcr"}`,
/// `http.ingress.downstream_rq_2xx` → `envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress"}`.
/// Hand-written (about 60 lines) rather than through swift-prometheus: the names and labels must be Envoy's,
/// which a metrics backend would not produce, and it keeps a dependency out of every CI build.
enum PrometheusFormat {
    static func render(_ stats: [(name: String, value: Int, kind: StatsStore.Kind)], clusters: [String],
                       prefixes: [String]) -> String {
        var families: [String: (kind: StatsStore.Kind, samples: [String])] = [:]
        var order: [String] = []
        for stat in stats {
            let (name, labels) = Self.split(stat.name, clusters: clusters, prefixes: prefixes)
            let labelText = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            if families[name] == nil {
                families[name] = (stat.kind, [])
                order.append(name)
            }
            families[name]?.samples.append("\(name)\(labelText) \(stat.value)")
        }
        var text = ""
        for name in order.sorted() {
            guard let family = families[name] else { continue }
            text += "# TYPE \(name) \(family.kind.rawValue)\n"
            for sample in family.samples { text += sample + "\n" }
        }
        return text
    }

    static func split(_ stat: String, clusters: [String], prefixes: [String]) -> (String, [(String, String)]) {
        var labels: [(String, String)] = []
        var rest = stat
        var scope = ""
        if stat.hasPrefix("cluster."),
           let cluster = clusters.filter({ stat.hasPrefix("cluster.\($0).") }).max(by: { $0.count < $1.count }) {
            scope = "cluster"
            rest = String(stat.dropFirst("cluster.\(cluster).".count))
            labels.append(("envoy_cluster_name", cluster))
        } else if stat.hasPrefix("http."),
                  let prefix = prefixes.filter({ stat.hasPrefix("http.\($0).") }).max(by: { $0.count < $1.count }) {
            scope = "http"
            rest = String(stat.dropFirst("http.\(prefix).".count))
            labels.append(("envoy_http_conn_manager_prefix", prefix))
        }
        // Response codes and classes become labels, as Envoy's tag extractors do.
        let parts = rest.split(separator: "_")
        if let last = parts.last, parts.count > 1 {
            if last.count == 3, last.allSatisfy(\.isNumber) {
                labels.insert(("envoy_response_code", String(last)), at: 0)
                rest = parts.dropLast().joined(separator: "_")
            } else if last.count == 3, last.hasSuffix("xx"), last.first?.isNumber == true {
                labels.insert(("envoy_response_code_class", String(last.prefix(1))), at: 0)
                rest = parts.dropLast().joined(separator: "_") + "_xx"
            }
        }
        let base = (scope.isEmpty ? rest : "\(scope).\(rest)")
        let name = "envoy_" + base.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
        return (name, labels)
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
