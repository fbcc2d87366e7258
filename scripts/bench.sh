#!/usr/bin/env bash
# Benchmarks (never timed tests). Medians of repeated runs on this noisy 2-core machine.
#   config:  `mirrorctl validate` on 1,000 clusters + 1,000 virtual hosts x 10 routes (target < 1 s)
#            route matching on the seed's table (target > 1,000,000 matches/s)
# Later issues add the data-plane runs side by side with nginx and haproxy (../shared/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
runs=${RUNS:-7}

swift build -c release --product mirrorctl >/dev/null
swift build -c release --product mirrord-bench >/dev/null
bin=.build/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

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
echo "route matching on 1,000 virtual hosts x 10 routes: median $(median < "$work/match-big.txt") matches/s ($runs runs)"
