#!/usr/bin/env bash
# Benchmarks (never timed tests). Medians of repeated runs on this noisy 2-core machine.
#   1. configuration: `mirrorctl validate` on 1,000 clusters + 1,000 virtual hosts x 10 routes (target < 1 s),
#      route matching on the seed's table (target > 1,000,000 matches/s)
#   2. data plane, side by side with nginx and haproxy: ../shared/bench/peers.sh with mirrord as its EXTRA target
#      (1 GiB single stream, 4 streams, wrk small requests at 64 and 256 connections, p99, peak RSS, CPU)
#   3. memory while streaming: 4 GiB to a slow reader, 8 x 1 GiB at once (scripts/bench-memory.sh)
#   4. hot reload under load: 100 and then 1,000 reloads (route, cluster, listener changes in turn) while 64
#      keep-alive clients send requests: failed requests, visibility p50/p99, descriptors and memory
#   5. the NIO floors: peers.sh with a bare NIO proxy (`mirrord-bench nio-floor`), with a byte relay over NIO
#      channels and no HTTP parsing (`nio-relay`), and with heads rewritten as bytes (`byte-head`, the design the
#      data plane follows, without its routing, rules, limits and error handling), as its extra target beside direct
#      and haproxy: what NIO's HTTP/1 codecs alone cost per request, to read mirrord's ratio against (its
#      large-blob columns mean nothing: it has no backpressure and buffers the blob, so the blob is 64 MiB)
#   6. the registry mirror beside distribution's proxy: cold and warm pulls, upstream GETs per blob (registry-peers.sh)
# BENCH=config|peers|memory|reload|floor|registry runs one part; peers.sh knobs (WRK_DURATION, BLOB_MIB, ...) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
runs=${RUNS:-7}
part=${BENCH:-all}
shared=${SHARED_DIR:-$(cd .. && pwd)/shared}

need() {   # installs Debian packages the peer benchmarks use, when missing and possible
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]} (apt-get install them)"; return 1
  fi
}

swift build -c release --product mirrorctl >/dev/null
swift build -c release --product mirrord-bench >/dev/null
swift build -c release --product mirrord >/dev/null
bin=.build/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

if [ "$part" = all ] || [ "$part" = config ]; then
  echo "## configuration"
  "$bin/mirrord-bench" generate "$work/big" 1000 1000 10
  echo "generated: $(wc -c < "$work/big/lds.yaml") bytes LDS, $(wc -c < "$work/big/cds.yaml") bytes CDS"
  "$bin/mirrorctl" validate "$work/big/envoy.yaml" | tail -n 1
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" "$bin/mirrorctl" validate "$work/big/envoy.yaml" 2>>"$work/validate.txt" >/dev/null
  done
  echo "validate 1,000 clusters + 10,000 routes: median $(cut -d' ' -f1 "$work/validate.txt" | median) s," \
       "max RSS median $(cut -d' ' -f2 "$work/validate.txt" | median) KiB ($runs runs)"
  for _ in $(seq "$runs"); do
    "$bin/mirrord-bench" match 3000000 examples/seed/lds.yaml examples/seed/cds.yaml | sed -E 's/.*: ([0-9]+) matches\/s.*/\1/' >>"$work/match.txt"
  done
  echo "route matching on the seed table: median $(median < "$work/match.txt") matches/s ($runs runs of 3,000,000)"
  "$bin/mirrord-bench" generate "$work/routes" 1 1000 10 >/dev/null
  for _ in $(seq "$runs"); do
    "$bin/mirrord-bench" match 1000000 "$work/routes/lds.yaml" "$work/routes/cds.yaml" | sed -E 's/.*: ([0-9]+) matches\/s.*/\1/' >>"$work/match-big.txt"
  done
  echo "route matching on 1,000 virtual hosts x 10 routes (worst case): median $(median < "$work/match-big.txt") matches/s ($runs runs)"
fi

if [ "$part" = all ] || [ "$part" = peers ]; then
  echo "## data plane vs peers"
  need nginx haproxy caddy wrk socat curl openssl
  [ -f "$shared/bench/peers.sh" ] || { echo "peers.sh not found under $shared/bench (set SHARED_DIR)"; exit 1; }
  EXTRA_NAME=mirrord EXTRA_PORT=20040 EXTRA_CMD="$(pwd)/scripts/bench-mirrord.sh" \
    TARGETS=${TARGETS:-"direct nginx-nobuf nginx-buf haproxy"} SKIP_REF=${SKIP_REF:-1} bash "$shared/bench/peers.sh"
fi

if [ "$part" = all ] || [ "$part" = floor ]; then
  echo "## the NIO floor (a bare NIO HTTP/1 proxy, no routing, stats or rewriting)"
  need nginx haproxy caddy wrk socat curl openssl
  EXTRA_NAME=nio-floor EXTRA_PORT=20041 EXTRA_CMD="$(pwd)/$bin/mirrord-bench nio-floor 20041 20001" \
    TARGETS="direct haproxy" SKIP_REF=1 BLOB_MIB=${BLOB_MIB:-64} bash "$shared/bench/peers.sh"
  echo "## the NIO relay floor (bytes relayed over NIO channels, no HTTP parsing: what NIO itself costs)"
  EXTRA_NAME=nio-relay EXTRA_PORT=20042 EXTRA_CMD="$(pwd)/$bin/mirrord-bench nio-relay 20042 20001" \
    TARGETS="direct haproxy" SKIP_REF=1 BLOB_MIB=${BLOB_MIB:-64} bash "$shared/bench/peers.sh"
  echo "## heads as bytes (request and response heads rewritten in place, no header as a Swift string)"
  EXTRA_NAME=byte-head EXTRA_PORT=20043 EXTRA_CMD="$(pwd)/$bin/mirrord-bench byte-head 20043 20001" \
    TARGETS="direct haproxy" SKIP_REF=1 BLOB_MIB=${BLOB_MIB:-64} bash "$shared/bench/peers.sh"
fi

if [ "$part" = all ] || [ "$part" = memory ]; then
  echo "## memory while streaming"
  need nginx curl
  scripts/bench-memory.sh
fi

if [ "$part" = all ] || [ "$part" = reload ]; then
  echo "## hot reload under load"
  "$bin/mirrord-bench" reload 100 64
  "$bin/mirrord-bench" reload 1000 64
fi

if [ "$part" = all ] || [ "$part" = registry ]; then
  # 6. the registry mirror beside distribution's proxy (registry:2) in the same run: cold and warm pulls with
  #    skopeo and with curl, upstream blob GETs per pull, RSS and CPU (../shared/bench/registry-peers.sh).
  echo "## registry mirror"
  need docker-registry skopeo curl python3
  EXTRA_NAME=mirrord EXTRA_CMD="$PWD/scripts/bench-registry-mirrord.sh" bash "$shared/bench/registry-peers.sh"
fi
