import Foundation
import ProxyConfig

// Benchmark driver for scripts/bench.sh (not a test: figures are read by a person, as medians).
//   mirrord-bench generate DIR CLUSTERS VHOSTS ROUTES   writes envoy.yaml, lds.yaml, cds.yaml
//   mirrord-bench match ITERATIONS FILE...              route-matching throughput on a file's first route table
//   mirrord-bench reload RELOADS CLIENTS                reloads under keep-alive load (see ReloadBench.swift)
//   mirrord-bench nio-floor LISTEN_PORT UPSTREAM_PORT   the bare NIO proxy the data plane is compared with
//   mirrord-bench nio-relay LISTEN_PORT UPSTREAM_PORT   bytes relayed over NIO channels, no HTTP parsing at all
//   mirrord-bench byte-head LISTEN_PORT UPSTREAM_PORT   heads rewritten as bytes, no header as a Swift string

func generate(directory: String, clusters: Int, hosts: Int, routes: Int) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var cds = "version_info: \"bench\"\nresources:\n"
    for index in 0..<clusters {
        cds += """
        - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
          name: cluster_\(index)
          type: STRICT_DNS
          connect_timeout: 2s
          dns_lookup_family: V4_ONLY
          load_assignment:
            cluster_name: cluster_\(index)
            endpoints:
            - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: upstream-\(index).example.com, port_value: 443}
          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
              sni: upstream-\(index).example.com
              common_tls_context:
                validation_context:
                  trusted_ca: {filename: /etc/ssl/certs/ca-certificates.crt}

        """
    }
    var lds = """
    version_info: "bench"
    resources:
    - "@type": type.googleapis.com/envoy.config.listener.v3.Listener
      name: bench
      address:
        socket_address: {address: 127.0.0.1, port_value: 18080}
      filter_chains:
      - filters:
        - name: envoy.filters.network.http_connection_manager
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
            stat_prefix: bench
            route_config:
              name: bench
              virtual_hosts:

    """
    for host in 0..<hosts {
        lds += "          - name: vhost_\(host)\n            domains: [\"host-\(host).example.com\"]\n            routes:\n"
        for route in 0..<routes {
            lds += "            - match: {prefix: \"/v2/repo-\(route)/\"}\n"
            lds += "              route: {cluster: cluster_\((host * routes + route) % max(clusters, 1)), timeout: 0s, prefix_rewrite: \"/v2/\"}\n"
        }
    }
    lds += """
            http_filters:
            - name: envoy.filters.http.router
              typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}

    """
    let bootstrap = """
    admin:
      address: {socket_address: {address: 127.0.0.1, port_value: 9901}}
    dynamic_resources:
      lds_config: {path_config_source: {path: lds.yaml}}
      cds_config: {path_config_source: {path: cds.yaml}}

    """
    try bootstrap.write(toFile: directory + "/envoy.yaml", atomically: true, encoding: .utf8)
    try lds.write(toFile: directory + "/lds.yaml", atomically: true, encoding: .utf8)
    try cds.write(toFile: directory + "/cds.yaml", atomically: true, encoding: .utf8)
}

func match(iterations: Int, files: [String]) {
    let set = ConfigLoader.load(paths: files)
    guard set.isValid, let manager = set.listeners.first?.filterChains.first?.httpConnectionManager else {
        print("invalid configuration")
        exit(1)
    }
    let table = RouteTable(manager.routeConfig)
    // Every virtual host once, through its last route (the worst case: every earlier route is tried first), plus a miss.
    var requests = manager.routeConfig.virtualHosts.flatMap { host -> [RouteRequest] in
        var prefix = "/"
        if case .prefix(let last)? = host.routes.last?.match.path { prefix = last }
        return host.domains.filter { !$0.contains("*") }.map {
            RouteRequest(host: $0, path: prefix + "library/alpine/manifests/3.20")
        }
    }
    requests.append(RouteRequest(host: "unknown.example.org", path: "/v2/"))
    var matched = 0
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        for index in 0..<iterations where table.match(requests[index % requests.count]) != nil { matched += 1 }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(String(format: "%d matches in %.3f s: %.0f matches/s (%d matched)", iterations, seconds,
                 Double(iterations) / seconds, matched))
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "generate" where arguments.count == 5:
    try generate(directory: arguments[1], clusters: Int(arguments[2]) ?? 1000, hosts: Int(arguments[3]) ?? 1000,
                 routes: Int(arguments[4]) ?? 10)
case "match" where arguments.count >= 3:
    match(iterations: Int(arguments[1]) ?? 1_000_000, files: Array(arguments.dropFirst(2)))
case "reload" where arguments.count == 3:
    try await ReloadBench.run(reloads: Int(arguments[1]) ?? 100, clients: Int(arguments[2]) ?? 64)
case "nio-floor" where arguments.count == 3:
    guard let listen = Int(arguments[1]), let upstream = Int(arguments[2]) else { print("ports are numbers"); exit(2) }
    try await NIOFloorProxy.run(listenPort: listen, upstreamPort: upstream)
case "byte-head" where arguments.count == 3:
    guard let listen = Int(arguments[1]), let upstream = Int(arguments[2]) else { print("ports are numbers"); exit(2) }
    try await ByteHeadProxy.run(listenPort: listen, upstreamPort: upstream)
case "nio-relay" where arguments.count == 3:
    guard let listen = Int(arguments[1]), let upstream = Int(arguments[2]) else { print("ports are numbers"); exit(2) }
    try await NIORelayProxy.run(listenPort: listen, upstreamPort: upstream)
default:
    print("usage: mirrord-bench generate DIR CLUSTERS VHOSTS ROUTES | match ITERATIONS FILE... | reload RELOADS CLIENTS"
          + " | nio-floor LISTEN_PORT UPSTREAM_PORT | nio-relay LISTEN_PORT UPSTREAM_PORT | byte-head LISTEN_PORT UPSTREAM_PORT")
    exit(2)
}
