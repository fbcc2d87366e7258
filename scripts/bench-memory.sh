#!/usr/bin/env bash
# Memory of mirrord while it streams large bodies: one 4 GiB response to a slow reader, then 8 x 1 GiB at once.
# Prints mirrord's peak RSS (VmHWM) for each. Needs nginx and curl; uses 127.0.0.1 ports 20101 and 20140.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  [ -n "${mirrord_pid:-}" ] && kill "$mirrord_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"   # nginx workers run as an unprivileged user
mkdir -p "$work/www"
truncate -s 4G "$work/www/blob4g"
truncate -s 1G "$work/www/blob1g"
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; server { listen 127.0.0.1:20101; root $work/www; } }
CONF
nginx -c "$work/nginx.conf"

start_mirrord() {
  EXTRA_PORT=20140 ORIGIN_URL=http://127.0.0.1:20101 EXTRA_WORK="$work/m" "$root/scripts/bench-mirrord.sh" >"$work/m.log" 2>&1 &
  mirrord_pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:20140/ && break; sleep 0.05; done
}
hwm() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$mirrord_pid/status"; }

start_mirrord
rate=${RATE:-300M}
curl -s -o /dev/null --limit-rate "$rate" -w 'HTTP %{http_code}, %{size_download} bytes at %{speed_download} B/s\n' http://127.0.0.1:20140/blob4g
echo "4 GiB to a reader limited to $rate/s: mirrord peak RSS $(hwm) MiB"
kill "$mirrord_pid"; wait "$mirrord_pid" 2>/dev/null || true

start_mirrord
for _ in $(seq 8); do curl -s -o /dev/null http://127.0.0.1:20140/blob1g & done
wait $(jobs -p | grep -v "^$mirrord_pid$") 2>/dev/null || true
echo "8 x 1 GiB concurrently: mirrord peak RSS $(hwm) MiB"
