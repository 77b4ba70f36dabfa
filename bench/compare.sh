#!/usr/bin/env bash
# breakerd vs Redis, side by side, same client (breaker-bench), same machine, same run.
#
#   bench/compare.sh            full run (~12 min): every shape, pinned A B A B, plus unpinned
#   bench/compare.sh --quick    ~3 min: shorter runs, fewer shapes
#   bench/compare.sh --out DIR  keep logs and results.jsonl in DIR (default: a temp dir)
#   bench/compare.sh --bin DIR  use breakerd and breaker-bench from DIR instead of building
#
# Starts redis-server twice (no persistence; appendonly yes + appendfsync everysec), a
# release-built breakerd and the loopback limit (bench/limit-server.c: a plain C epoll server
# answering every line with a fixed reply), all on 127.0.0.1 with free ports, bounds every run
# with `timeout`, and stops exactly what it started. Every shape prints breakerd/Redis and
# breakerd/limit. Headline ratios are pinned: server and client on CPU 0
# (`taskset -c 0`), because cross-CPU wake-ups on small VMs are slow and bimodal.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib.sh"
cd "$HERE/.."

QUICK=0
OUT=""
BIN=""
CPU=0
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT="$2"; shift ;;
        --cpu) CPU="$2"; shift ;;
        --bin) BIN="$2"; shift ;;
        *) echo "usage: $0 [--quick] [--out DIR] [--cpu N] [--bin DIR]" >&2; exit 2 ;;
    esac
    shift
done

if [ "$QUICK" = 1 ]; then
    DUR=2s; WARM=0.5s; SHAPES="1:1 64:1 64:16"; BIG=200000
else
    DUR=5s; WARM=1s; SHAPES="1:1 1:16 16:1 16:16 64:1 64:16"; BIG=1000000
fi

need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need+=(redis-tools)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

if [ -z "$BIN" ]; then
    BIN=$(release_bin breakerd breaker-bench)
fi

[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/breakerd-compare.XXXXXX)"
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
echo "logs and results in $OUT"

trap stop_all EXIT

start_redis() {  # start_redis NAME PIN [extra args...] → sets REDIS_PORT, REDIS_PID
    local name=$1 pin=$2; shift 2
    REDIS_PORT=$(free_port)
    mkdir -p "$OUT/$name"
    $pin redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$OUT/$name" --save '' \
        --protected-mode yes --daemonize no "$@" > "$OUT/$name.log" 2>&1 &
    REDIS_PID=$!
    BENCH_PIDS+=("$REDIS_PID")
    wait_port "$REDIS_PORT"
}

start_limit() {  # start_limit PIN → sets LIMIT_PORT, LIMIT_PID
    local pin=$1
    cc -O2 -o "$OUT/limit-server" "$HERE/limit-server.c"
    # The reply breakerd gives a should-attempt on a closed breaker, byte for byte in length.
    $pin "$OUT/limit-server" 0 '{"ok":true,"decision":"attempt","state":"closed","generation":1,"cache_ms":100}' \
        > "$OUT/limit.log" 2>&1 &
    LIMIT_PID=$!
    BENCH_PIDS+=("$LIMIT_PID")
    LIMIT_PORT=$(logged_port "$OUT/limit.log" "limit listening on" 100 "$LIMIT_PID") || { echo "the limit server did not start; see $OUT/limit.log" >&2; return 1; }
}

# bench LABEL PIN TARGET ARGS...: one bounded breaker-bench run, its JSON appended to results.
bench() {
    local label=$1 pin=$2 target=$3; shift 3
    local line
    if ! line=$(timeout 120 $pin "$BIN/breaker-bench" --target "$target" --duration "$DUR" --warmup "$WARM" --json "$@" 2>>"$OUT/bench.err"); then
        echo "!!! breaker-bench reported errors for $label ($*); see $OUT/bench.err" >&2
    fi
    [ -n "$line" ] || line='{"throughput_rps":0,"errors":1}'
    echo "{\"label\":\"$label\",\"pin\":\"${pin:-none}\",\"args\":\"$*\",\"result\":$line}" >> "$RESULTS"
    python3 "$HERE/summarize.py" --row "$line" "$label $*"
}

PIN="taskset -c $CPU"
echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"

start_redis redis "$PIN" --appendonly no
R_PORT=$REDIS_PORT; R_PID=$REDIS_PID
start_redis redis-aof "$PIN" --appendonly yes --appendfsync everysec
RA_PORT=$REDIS_PORT; RA_PID=$REDIS_PID
start_breakerd "$BIN" "$OUT" breakerd "$PIN" --threads 1
B_PORT=$BD_PORT; B_PID=$BD_PID
start_limit "$PIN"
L_PORT=$LIMIT_PORT

echo "== pinned to CPU $CPU, 10 breakers, interleaved A B A B (Redis, breakerd, limit)"
for shape in $SHAPES; do
    c=${shape%:*}; p=${shape#*:}
    # Decisions on closed breakers (names sa-*), failures on their own names (rf-*, which open).
    for round in 1 2; do
        bench "redis-get" "$PIN" "redis://127.0.0.1:$R_PORT" -c "$c" -P "$p" --breakers 10 --mix should-attempt=100 --name-prefix sa-
        bench "breakerd-should-attempt" "$PIN" "127.0.0.1:$B_PORT" -c "$c" -P "$p" --breakers 10 --mix should-attempt=100 --name-prefix sa-
        bench "limit" "$PIN" "127.0.0.1:$L_PORT" -c "$c" -P "$p" --breakers 10 --mix should-attempt=100 --name-prefix sa-
    done
    for round in 1 2; do
        bench "redis-aof-incr" "$PIN" "redis://127.0.0.1:$RA_PORT" -c "$c" -P "$p" --breakers 10 --mix record-failure=100 --name-prefix rf-
        bench "breakerd-record-failure" "$PIN" "127.0.0.1:$B_PORT" -c "$c" -P "$p" --breakers 10 --mix record-failure=100 --name-prefix rf-
    done
done

echo "== decisions on OPEN breakers (every answer a rejection, counted in rejected_calls), 64×1, pinned"
for round in 1 2; do
    bench "redis-get-open" "$PIN" "redis://127.0.0.1:$RA_PORT" -c 64 -P 1 --breakers 10 --mix should-attempt=100 --name-prefix rf-
    bench "breakerd-should-attempt-open" "$PIN" "127.0.0.1:$B_PORT" -c 64 -P 1 --breakers 10 --mix should-attempt=100 --name-prefix rf-
done

echo "== mixed load (should-attempt=90,record-success=8,record-failure=2), 64×1, pinned"
for round in 1 2; do
    bench "redis-aof-mix" "$PIN" "redis://127.0.0.1:$RA_PORT" -c 64 -P 1 --breakers 10 --name-prefix mix-
    bench "breakerd-mix" "$PIN" "127.0.0.1:$B_PORT" -c 64 -P 1 --breakers 10 --name-prefix mix-
done

echo "== latency at half of Redis' measured max (GET, 64×1), open loop, pinned"
HALF=$(python3 - "$RESULTS" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
best = [r["result"]["throughput_rps"] for r in rs if r["label"] == "redis-get" and "-c 64 -P 1 " in r["args"] + " "]
print(int(max(best) / 2) if best else 20000)
PY
)
echo "  offered: $HALF req/s"
for round in 1 2; do
    bench "redis-get-rate" "$PIN" "redis://127.0.0.1:$R_PORT" -c 64 -P 1 --breakers 10 --mix should-attempt=100 --rate "$HALF" --name-prefix sa-
    bench "breakerd-should-attempt-rate" "$PIN" "127.0.0.1:$B_PORT" -c 64 -P 1 --breakers 10 --mix should-attempt=100 --rate "$HALF" --name-prefix sa-
done

echo "== unpinned (both CPUs, breakerd with its default threads), 64×1 and 64×16"
stop "$B_PID"
start_breakerd "$BIN" "$OUT" breakerd ""
B_PORT=$BD_PORT; B_PID=$BD_PID
for p in 1 16; do
    bench "redis-get-unpinned" "" "redis://127.0.0.1:$R_PORT" -c 64 -P "$p" --breakers 10 --mix should-attempt=100 --name-prefix sa-
    bench "breakerd-should-attempt-unpinned" "" "127.0.0.1:$B_PORT" -c 64 -P "$p" --breakers 10 --mix should-attempt=100 --name-prefix sa-
done
stop "$B_PID"

echo "== $BIG breakers, pinned"
start_breakerd "$BIN" "$OUT" breakerd-big "$PIN" --threads 1
B_PORT=$BD_PORT; B_PID=$BD_PID
timeout 600 $PIN "$BIN/breaker-bench" --target "127.0.0.1:$B_PORT" -c 16 --breakers "$BIG" --populate --duration 0.1s --warmup 0s >/dev/null 2>>"$OUT/populate.log" || echo "!!! populate errors; see $OUT/populate.log" >&2
timeout 600 $PIN "$BIN/breaker-bench" --target "redis://127.0.0.1:$R_PORT" -c 16 --breakers "$BIG" --populate --duration 0.1s --warmup 0s >/dev/null 2>>"$OUT/populate.log" || true
cat "$OUT/populate.log"
sleep 2   # let the last group commit land before measuring size
for round in 1 2; do
    bench "redis-get-big" "$PIN" "redis://127.0.0.1:$R_PORT" -c 64 -P 1 --breakers "$BIG" --mix should-attempt=100
    bench "breakerd-should-attempt-big" "$PIN" "127.0.0.1:$B_PORT" -c 64 -P 1 --breakers "$BIG" --mix should-attempt=100
done
bench "breakerd-mix-big" "$PIN" "127.0.0.1:$B_PORT" -c 64 -P 1 --breakers "$BIG"
BIG_RSS=$(rss_kib "$B_PID")
stop "$B_PID"
DB_BYTES=$(du -cb "$OUT/breakerd-big.sqlite3"* | tail -1 | cut -f1)
T0=$(date +%s.%N)
start_breakerd "$BIN" "$OUT" breakerd-big "$PIN" --threads 1
T1=$(date +%s.%N)
B_PID=$BD_PID
RESTART=$(python3 -c "print(round($T1 - $T0, 2))")
RESTART_RSS=$(rss_kib "$B_PID")
stop "$B_PID"
echo "{\"label\":\"big\",\"breakers\":$BIG,\"rss_kib_after_run\":$BIG_RSS,\"rss_kib_after_restart\":$RESTART_RSS,\"db_bytes\":$DB_BYTES,\"restart_s\":$RESTART}" >> "$RESULTS"
echo "  RSS after run ${BIG_RSS} KiB, database ${DB_BYTES} bytes, restart to listening ${RESTART} s (RSS ${RESTART_RSS} KiB)"

echo "== redis-benchmark cross-check (pinned; same shapes; redis-benchmark is the client)"
N=$([ "$QUICK" = 1 ] && echo 100000 || echo 300000)
for shape in 1:1 64:1 64:16; do
    c=${shape%:*}; p=${shape#*:}
    for t in get incr; do
        port=$R_PORT; [ "$t" = incr ] && port=$RA_PORT
        csv=$(timeout 120 $PIN redis-benchmark -h 127.0.0.1 -p "$port" -c "$c" -P "$p" -n "$N" -r 10 -t "$t" --csv 2>/dev/null | tail -1)
        rps=$(echo "$csv" | cut -d, -f2 | tr -d '"')
        echo "{\"label\":\"redis-benchmark-$t\",\"args\":\"-c $c -P $p \",\"result\":{\"throughput_rps\":${rps:-0}}}" >> "$RESULTS"
        echo "  redis-benchmark $t -c $c -P $p: $rps req/s"
    done
done

python3 "$HERE/summarize.py" "$RESULTS" | tee "$OUT/summary.md"
