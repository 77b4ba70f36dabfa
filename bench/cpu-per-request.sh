#!/usr/bin/env bash
# Daemon CPU time per request: a measure that holds up on a noisy shared machine better than
# req/s, for A/B pairs of builds (see BENCHMARKS.md, "What was changed because of it").
#
#   bench/cpu-per-request.sh BINDIR C P OP [DURATION] [perf|strace]
#
# Starts BINDIR/breakerd (`--threads 1`, fresh temp database) and BINDIR/breaker-bench, both
# pinned to CPU 0, runs 1 s of warm-up then DURATION (default 3s) of OP (should-attempt,
# record-success, record-failure) at C connections × P pipelined over 10 breakers, and prints
# req/s, the daemon's CPU time per request (all its threads, from /proc/PID/task/*/schedstat),
# its p99, and the daemon's voluntary/involuntary context switches per request. `perf` records
# the daemon with call graphs for 4 s of the run; `strace` counts its system calls.
set -euo pipefail
BIN=$1; C=$2; P=$3; OP=$4; DUR=${5:-3s}; MODE=${6:-none}
. "$(dirname "$0")/lib.sh"
D=$(mktemp -d /tmp/breakerd-cpu.XXXXXX)
cleanup() {
    stop_all
    if [ "$MODE" = none ]; then rm -rf "$D"; fi
}
trap cleanup EXIT
start_breakerd "$BIN" "$D" db "taskset -c 0" --threads 1
BD=$BD_PID; PORT=$BD_PORT
PREFIX=sa-; case "$OP" in record-*) PREFIX=rf-;; esac
bench() { timeout 120 taskset -c 0 "$BIN/breaker-bench" --target "127.0.0.1:$PORT" -c "$C" -P "$P" --breakers 10 \
    --mix "$OP=100" --name-prefix "$PREFIX" --warmup 0s --json "$@"; }
bench --duration 1s > /dev/null 2>&1 || true
cpu() { cat /proc/$BD/task/*/schedstat | awk '{s += $1} END {printf "%d\n", s}'; }
ctx() { cat /proc/$BD/task/*/status | awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v, n}'; }
case "$MODE" in
    perf) perf record -g -o "$D/perf.data" -p $BD -- sleep 4 > /dev/null 2>&1 & PP=$! ;;
    strace) strace -c -f -p $BD -o "$D/strace.txt" & PP=$!; sleep 0.5 ;;
esac
X0=$(ctx); C0=$(cpu)
bench --duration "$DUR" > "$D/bench.json" 2> "$D/bench.err" || true
C1=$(cpu); X1=$(ctx)
case "$MODE" in
    perf) wait $PP || true; echo "perf data: $D/perf.data" ;;
    strace) kill -INT $PP; wait $PP || true; echo "syscalls: $D/strace.txt" ;;
esac
python3 - "$D/bench.json" "$((C1 - C0))" $X0 $X1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ns = int(sys.argv[2]); v0, n0, v1, n1 = map(int, sys.argv[3:7])
r = max(1, d["requests"])
print(f'{d["throughput_rps"]} req/s, daemon {ns / r / 1000:.2f} µs CPU/request, p99 {d["latency"]["p99_us"]:.0f} µs, '
      f'errors {d["errors"]}, context switches/request {(v1 - v0) / r:.3f} voluntary {(n1 - n0) / r:.3f} involuntary')
PY
