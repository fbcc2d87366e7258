/// The YAML `mirrorctl init` writes, commented for the operator who edits it next.
extension MirrorSetup {
    var bootstrapYAML: String {
        """
        # mirrord: a pull-through registry mirror of \(self.upstreams.map(\.name).joined(separator: ", ")).
        # Written by `mirrorctl init`. Check after editing: mirrorctl validate envoy.yaml   Run: mirrord -c envoy.yaml
        # mirrord reloads lds.yaml and cds.yaml when they change; an invalid edit is refused and the last good one stays.
        node:
          id: mirrord
          cluster: mirrors
        admin:
          # The admin endpoint has no authentication: keep it on loopback.
          address:
            socket_address: { address: \(self.admin.address), port_value: \(self.admin.portValue) }
        dynamic_resources:
          lds_config:
            path_config_source: { path: lds.yaml }
            resource_api_version: V3
          cds_config:
            path_config_source: { path: cds.yaml }
            resource_api_version: V3

        """
    }

    private var defaultUpstream: String {
        (self.upstreams.first { $0.name == "docker.io" } ?? self.upstreams[0]).name
    }

    var listenersYAML: String {
        var hosts = ""
        for domain in self.domains {
            let cluster = Self.clusterName(domain.registry)
            hosts += [
                "          # \(domain.hostname) serves \(domain.registry) (host-based: clients pull \(domain.hostname)/<name>).",
                "          - name: \(cluster)_host",
                "            domains: [\"\(domain.hostname)\", \"\(domain.hostname):*\"]",
                "            routes:",
                "            - match: { prefix: \"/\" }",
                "              route: { cluster: \(cluster), timeout: 0s, idle_timeout: 300s }",
            ].joined(separator: "\n") + "\n"
        }
        hosts += """
                      # Every other host: /v2/<registry>/<name>/..., /<registry>/v2/<name>/..., ?ns=<registry>, and plain
                      # /v2/<name>/... for \(self.defaultUpstream) (what Docker's registry-mirrors sends).
                      - name: registries
                        domains: ["*"]
                        routes:
                        - match: { prefix: "/" }
                          route: { cluster: \(Self.clusterName(self.defaultUpstream)), timeout: 0s, idle_timeout: 300s }
            """
        let maxSize = self.cacheMaxSize.map { ", max_size: \($0)" } ?? ""
        return """
            version_info: "1"
            resources:
            - "@type": type.googleapis.com/envoy.config.listener.v3.Listener
              name: mirror
              address:
                socket_address: { address: \(self.listen.address), port_value: \(self.listen.portValue) }
              filter_chains:
              - filters:
                - name: envoy.filters.network.http_connection_manager
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                    stat_prefix: mirror
                    codec_type: AUTO
                    access_log:
                    - name: envoy.access_loggers.file
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                        path: /dev/stdout
                    route_config:
                      name: mirrors
                      virtual_hosts:
            \(hosts)
                    http_filters:
                    # The registry mirror answers the registry API itself: auth, redirects and caching happen here.
                    - name: mirrord.filters.http.registry_mirror
                      typed_config:
                        "@type": type.googleapis.com/mirrord.config.v1.RegistryMirror
                        cache: { path: \(self.cacheDirectory)\(maxSize) }
                        allow_private_upstreams: \(self.allowPrivateUpstreams)
                    - name: envoy.filters.http.router
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router

            """
    }

    var clustersYAML: String {
        var text = "version_info: \"1\"\nresources:\n"
        for upstream in self.upstreams {
            let name = Self.clusterName(upstream.name)
            let host = upstream.url.host ?? upstream.name
            let secure = upstream.url.scheme?.lowercased() == "https"
            let port = upstream.url.port ?? (secure ? 443 : 80)
            let literal = host.allSatisfy { $0.isNumber || $0 == "." } || host.contains(":")
            text += """
                - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
                  name: \(name)
                  type: \(literal ? "STATIC" : "LOGICAL_DNS")
                  connect_timeout: 5s
                \(literal ? "" : "  dns_lookup_family: V4_PREFERRED\n")  load_assignment:
                    cluster_name: \(name)
                    endpoints:
                    - lb_endpoints:
                      - endpoint:
                          address:
                            socket_address: { address: \(host), port_value: \(port) }

                """
            if secure {
                text += """
                      transport_socket:
                        name: envoy.transport_sockets.tls
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                          sni: \(host)
                          common_tls_context:
                            alpn_protocols: ["http/1.1"]
                            validation_context:
                              trusted_ca: { filename: /etc/ssl/certs/ca-certificates.crt }

                    """
            }
            text += """
                  typed_extension_protocol_options:
                    mirrord.upstream:
                      "@type": type.googleapis.com/mirrord.config.v1.UpstreamOptions
                      registry:
                        name: \(upstream.name)
                        # How long a tag's digest is served before asking \(upstream.name) again.
                        tag_ttl: 300s

                """
        }
        return text
    }
}
