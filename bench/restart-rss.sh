#!/usr/bin/env bash
# Daemon memory with 1,000,000 breakers, after populating them and after a restart that loads
# them from SQLite (the "1,000,000 breakers" line of bench/compare.sh, alone, in ~20 s):
#
#   bench/restart-rss.sh BINDIR [BREAKERS]
#
# BINDIR holds release builds of breakerd and breaker-bench. Prints VmRSS 2 s after each, and
# the restart's time to listening. Uses a fresh temporary database, removed at exit.
set -euo pipefail
BIN=$1; N=${2:-1000000}
D=$(mktemp -d /tmp/breakerd-rss.XXXXXX)
PID=""
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
start() {
    "$BIN/breakerd" --host 127.0.0.1 --port 0 --http-port 0 --db "$D/db.sqlite3" --log-level warning > "$D/log" 2>&1 &
    PID=$!
    PORT=""
    for _ in $(seq 600); do
        PORT=$(sed -n 's/^breakerd listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$D/log")
        [ -n "$PORT" ] && return
        sleep 0.05
    done
    echo "breakerd did not start: $(cat "$D/log")" >&2
    exit 1
}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

start
"$BIN/breaker-bench" --target "127.0.0.1:$PORT" -c 4 -P 16 --duration 1s --warmup 0s --breakers "$N" --populate > /dev/null 2>&1
sleep 2
echo "$N breakers: RSS after populating $(( $(rss) / 1024 )) MiB"
stop
t0=$(date +%s%N)
start
t1=$(date +%s%N)
sleep 2
echo "$N breakers: RSS after a restart $(( $(rss) / 1024 )) MiB (listening after $(( (t1 - t0) / 1000000 )) ms)"
stop
