#!/usr/bin/env bash
# A/B pairs of daemon CPU per request (see BENCHMARKS.md, "eighth round"):
#
#   bench/cpu-ab.sh BINDIR_A BINDIR_B "C P OP" [N]
#
# Runs bench/cpu-per-request.sh for A then B, N times (default 5), 2 s each, and prints both
# medians and the median of the per-pair ratios B/A with every pair's ratio. Alternating pairs
# keep a shared machine's drift out of the ratio; move other work off CPU 0 first.
set -euo pipefail
A=$1; B=$2; SHAPE=$3; N=${4:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ra=(); rb=()
for _ in $(seq "$N"); do
    # shellcheck disable=SC2086  # SHAPE is "C P OP", three arguments
    a=$(bash "$HERE/cpu-per-request.sh" "$A" $SHAPE 2s 2>&1 | tail -1 | sed -n 's/.*daemon \([0-9.]*\) µs.*/\1/p')
    # shellcheck disable=SC2086
    b=$(bash "$HERE/cpu-per-request.sh" "$B" $SHAPE 2s 2>&1 | tail -1 | sed -n 's/.*daemon \([0-9.]*\) µs.*/\1/p')
    ra+=("$a"); rb+=("$b")
done
python3 - "${ra[*]}" "${rb[*]}" "$SHAPE" <<'PY'
import sys, statistics
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
ratios = [y / x for x, y in zip(a, b)]
print(f"{sys.argv[3]}: A median {statistics.median(a):.3f} µs, B median {statistics.median(b):.3f} µs, "
      f"median pair ratio B/A {statistics.median(ratios):.3f} (pairs: {' '.join(f'{r:.2f}' for r in ratios)})")
PY
