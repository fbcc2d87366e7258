/// Re-indents a YAML fragment so its least-indented line starts at `column`: fragments written at any
/// indentation in a test drop into a template at the depth the template needs.
public func reindent(_ text: String, _ column: Int) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let margin = lines.filter { !$0.allSatisfy(\.isWhitespace) }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
    return lines.map { String(repeating: " ", count: column) + $0.dropFirst(margin) }.joined(separator: "\n")
}

/// The router filter alone, as most listeners in the tests end their `http_filters`.
public let routerFilterYAML = """
    - name: envoy.filters.http.router
      typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
    """

/// An LDS file with one listener on 127.0.0.1:0 whose route configuration has `hosts` (virtual hosts, YAML at any
/// indentation); `extra` joins the connection manager's fields and `filters` is its `http_filters` list.
public func listenerYAML(_ hosts: String, extra: String = "", name: String = "l0", statPrefix: String = "ingress",
                         filters: String = routerFilterYAML) -> String {
    """
    resources:
    - "@type": type.googleapis.com/envoy.config.listener.v3.Listener
      name: \(name)
      address: {socket_address: {address: 127.0.0.1, port_value: 0}}
      filter_chains:
      - filters:
        - name: envoy.filters.network.http_connection_manager
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
            stat_prefix: \(statPrefix)
    \(reindent(extra, 8))
            route_config:
              name: r
              virtual_hosts:
    \(reindent(hosts, 10))
            http_filters:
    \(reindent(filters, 8))
    """
}
