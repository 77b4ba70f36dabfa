#!/usr/bin/env bash
# CI smoke of breaker-bench: a built breakerd on a free port with a temp database, one second of
# the default mix, zero errors required. Uses the debug build `swift build` made.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-$(swift build --show-bin-path)}"
DIR="$(mktemp -d /tmp/breaker-bench-smoke.XXXXXX)"
"$BIN/breakerd" --host 127.0.0.1 --port 0 --http-port 0 --db "$DIR/smoke.sqlite3" --log-level warning > "$DIR/breakerd.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=""
for _ in $(seq 200); do
    PORT=$(sed -n 's/^breakerd listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/breakerd.log")
    [ -n "$PORT" ] && break
    kill -0 $PID 2>/dev/null || { cat "$DIR/breakerd.log"; exit 1; }
    sleep 0.05
done
[ -n "$PORT" ] || { echo "breakerd did not start"; cat "$DIR/breakerd.log"; exit 1; }
# breaker-bench exits 1 on any error or unexpected reply, 2 if it cannot connect.
timeout 60 "$BIN/breaker-bench" --target "127.0.0.1:$PORT" -c 4 -P 4 --breakers 100 --duration 1s --warmup 0.2s
echo "breaker-bench smoke: ok"
