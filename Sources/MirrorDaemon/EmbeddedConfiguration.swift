/// The configuration `mirrord` runs with no `-c`: the quickstart mirror, byte for byte
/// `examples/quickstart/` (a test keeps the two equal).
public enum EmbeddedConfiguration {
    /// Virtual paths; relative LDS/CDS paths in the bootstrap resolve next to it, as on disk.
    public static let bootstrapPath = "<embedded>/envoy.yaml"

    public static let files: [String: String] = [
        "<embedded>/envoy.yaml": bootstrap,
        "<embedded>/lds.yaml": listeners,
        "<embedded>/cds.yaml": clusters,
    ]

    public static let bootstrap = #"""
# mirrord quickstart: one listener mirroring gcr.io, quay.io and Docker Hub.
# Run: mirrord -c examples/quickstart/envoy.yaml   Check first: mirrorctl validate examples/quickstart/envoy.yaml
node:
  id: mirrord-quickstart
  cluster: mirrors
admin:
  # Admin has no authentication: keep it on loopback.
  address:
    socket_address: { address: 127.0.0.1, port_value: 9901 }
dynamic_resources:
  # Relative paths are resolved against this file's directory (Envoy uses its working directory).
  lds_config:
    path_config_source: { path: lds.yaml }
    resource_api_version: V3
  cds_config:
    path_config_source: { path: cds.yaml }
    resource_api_version: V3

"""#

    public static let listeners = #"""
version_info: "1"
resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: mirror
  address:
    socket_address: { address: 0.0.0.0, port_value: 5000 }
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
          # Host-based mirrors: gcr.<your domain>, quay.<your domain>, docker.<your domain>.
          - name: gcr
            domains: ["gcr.*"]
            routes:
            - match: { prefix: "/" }
              route:
                cluster: gcr
                host_rewrite_literal: gcr.io
                # Layers are large: no total timeout, but give up on a stalled transfer.
                timeout: 0s
                idle_timeout: 300s
          - name: quay
            domains: ["quay.*"]
            routes:
            - match: { prefix: "/" }
              route:
                cluster: quay
                host_rewrite_literal: quay.io
                timeout: 0s
                idle_timeout: 300s
          - name: docker
            domains: ["docker.*"]
            routes:
            - match: { prefix: "/" }
              route:
                cluster: dockerhub
                host_rewrite_literal: registry-1.docker.io
                timeout: 0s
                idle_timeout: 300s
        http_filters:
        - name: envoy.filters.http.router
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router

"""#

    public static let clusters = #"""
version_info: "1"
resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: gcr
  type: LOGICAL_DNS
  connect_timeout: 5s
  dns_lookup_family: V4_PREFERRED
  load_assignment:
    cluster_name: gcr
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address: { address: gcr.io, port_value: 443 }
  transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
      sni: gcr.io
      common_tls_context:
        alpn_protocols: ["http/1.1"]
        validation_context:
          trusted_ca: { filename: /etc/ssl/certs/ca-certificates.crt }
          match_typed_subject_alt_names:
          - san_type: DNS
            matcher: { exact: gcr.io }
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: quay
  type: LOGICAL_DNS
  connect_timeout: 5s
  dns_lookup_family: V4_PREFERRED
  load_assignment:
    cluster_name: quay
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address: { address: quay.io, port_value: 443 }
  transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
      sni: quay.io
      common_tls_context:
        alpn_protocols: ["http/1.1"]
        validation_context:
          trusted_ca: { filename: /etc/ssl/certs/ca-certificates.crt }
          match_typed_subject_alt_names:
          - san_type: DNS
            matcher: { exact: quay.io }
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: dockerhub
  type: LOGICAL_DNS
  connect_timeout: 5s
  dns_lookup_family: V4_PREFERRED
  load_assignment:
    cluster_name: dockerhub
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address: { address: registry-1.docker.io, port_value: 443 }
  transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
      sni: registry-1.docker.io
      common_tls_context:
        alpn_protocols: ["http/1.1"]
        validation_context:
          trusted_ca: { filename: /etc/ssl/certs/ca-certificates.crt }
          match_typed_subject_alt_names:
          - san_type: DNS
            matcher: { exact: registry-1.docker.io }

"""#
}
