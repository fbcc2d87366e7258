#!/usr/bin/env bash
# Started by ../shared/bench/peers.sh as EXTRA_CMD: writes a bootstrap + LDS + CDS for one listener on
# 127.0.0.1:$EXTRA_PORT proxying everything to $ORIGIN_URL, then execs the release mirrord on it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${EXTRA_WORK:-$(mktemp -d)}
mkdir -p "$work"
origin=${ORIGIN_URL#http://}
origin_host=${origin%:*}
origin_port=${origin##*:}
cat >"$work/envoy.yaml" <<YAML
dynamic_resources:
  lds_config: {path_config_source: {path: lds.yaml}}
  cds_config: {path_config_source: {path: cds.yaml}}
YAML
cat >"$work/lds.yaml" <<YAML
resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: bench
  address: {socket_address: {address: 127.0.0.1, port_value: ${EXTRA_PORT}}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: bench
        route_config:
          virtual_hosts:
          - name: all
            domains: ["*"]
            routes:
            - match: {prefix: "/"}
              route: {cluster: origin, timeout: 0s}
        http_filters:
        - name: envoy.filters.http.router
          typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
YAML
cat >"$work/cds.yaml" <<YAML
resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: origin
  load_assignment:
    endpoints:
    - lb_endpoints:
      - endpoint: {address: {socket_address: {address: ${origin_host}, port_value: ${origin_port}}}}
YAML
# MIRRORD_ARGS adds flags (e.g. `--concurrency 1`) for runs that measure a setting; the default run uses none.
# shellcheck disable=SC2086
exec "$root/.build/release/mirrord" -c "$work/envoy.yaml" --log-level warning ${MIRRORD_ARGS:-}
