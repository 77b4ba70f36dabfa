#!/usr/bin/env bash
# 1,000,000 breakers alone, as bench/compare.sh's big shape but without Redis (about 1 minute):
# populate, two 5 s should-attempt runs at 64x1 pinned, RSS after the run, database size,
# restart to listening and RSS after it. Compare with the 10-breaker figure of the same build:
#   swift build -c release --product breakerd --product breaker-bench
#   bench/big.sh [BIN_DIR [BREAKERS]]
set -u
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
BIN=${1:-.build/release}
BIG=${2:-1000000}
OUT=$(mktemp -d)
PIN="taskset -c 0"
trap 'stop_all; rm -rf "$OUT"' EXIT
start() {
  start_breakerd "$BIN" "$OUT" big "$PIN" --threads 1 --max-breakers $((BIG + 100)) || exit 1
  PID=$BD_PID; PORT=$BD_PORT
}
start
# First, on 10 breakers: the figure the 1,000,000-breaker runs are compared with.
timeout 60 $PIN "$BIN/breaker-bench" --target "127.0.0.1:$PORT" -c 64 -P 1 --breakers 10 --mix should-attempt=100 --name-prefix sa- --duration 5s --warmup 1s --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("should-attempt 64x1, 10 breakers:", d["throughput_rps"], "req/s, errors", d["errors"])'
timeout 600 $PIN "$BIN/breaker-bench" --target "127.0.0.1:$PORT" -c 16 --breakers "$BIG" --populate --duration 0.1s --warmup 0s >/dev/null
sleep 5   # let the writer finish committing the new breakers
for r in 1 2; do
  timeout 60 $PIN "$BIN/breaker-bench" --target "127.0.0.1:$PORT" -c 64 -P 1 --breakers "$BIG" --mix should-attempt=100 --duration 5s --warmup 1s --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("should-attempt 64x1 big:", round(d["throughput_rps"]), "req/s", {k:v for k,v in d.items() if "err" in k})'
done
echo "RSS after run: $(( $(rss_kib $PID) / 1024 )) MiB"
stop "$PID"
echo "db: $(du -cb "$OUT"/big.sqlite3* | tail -1 | cut -f1) bytes"
T0=$(date +%s.%N); start; T1=$(date +%s.%N)
echo "restart to listening: $(python3 -c "print(round($T1 - $T0, 2))") s; RSS after restart: $(( $(rss_kib $PID) / 1024 )) MiB"
stop "$PID"
