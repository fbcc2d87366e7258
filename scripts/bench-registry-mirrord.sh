#!/usr/bin/env bash
# mirrord as the EXTRA mirror of ../shared/bench/registry-peers.sh: writes a configuration with `mirrorctl init`
# (one upstream, the benchmark's distribution registry, as docker.io so plain /v2/library/... names reach it)
# into a fresh directory beside the cache, then execs mirrord on it in the foreground.
# Uses EXTRA_PORT, UPSTREAM_URL and EXTRA_CACHE_DIR from registry-peers.sh.
set -euo pipefail
bin=$(cd "$(dirname "$0")/.." && pwd)/.build/release
conf=$(mktemp -d)
"$bin/mirrorctl" init --out "$conf" --listen "127.0.0.1:$EXTRA_PORT" --admin "127.0.0.1:$((EXTRA_PORT + 1000))" \
    --cache-dir "$EXTRA_CACHE_DIR" --upstream "docker.io=$UPSTREAM_URL" --allow-private-upstreams >/dev/null
# The benchmark reads bodies, not logs: no access log line per request.
sed -i '/access_log:/,/path: \/dev\/stdout/d' "$conf/lds.yaml"
exec "$bin/mirrord" -c "$conf/envoy.yaml" --log-level warning
