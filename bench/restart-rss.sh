#!/usr/bin/env bash
# Daemon memory with 1,000,000 breakers, after populating them and after a restart that loads
# them from SQLite (the "1,000,000 breakers" line of bench/compare.sh, alone, in ~20 s):
#
#   bench/restart-rss.sh BINDIR [BREAKERS]
#
# BINDIR holds release builds of breakerd and breaker-bench. Prints VmRSS 2 s after each, and
# the restart's time to listening. Uses a fresh temporary database, removed at exit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BIN=$1; N=${2:-1000000}
D=$(mktemp -d /tmp/breakerd-rss.XXXXXX)
trap 'stop_all; rm -rf "$D"' EXIT

start_breakerd "$BIN" "$D" db ""
"$BIN/breaker-bench" --target "127.0.0.1:$BD_PORT" -c 4 -P 16 --duration 1s --warmup 0s --breakers "$N" --populate > /dev/null 2>&1
sleep 2
echo "$N breakers: RSS after populating $(( $(rss_kib "$BD_PID") / 1024 )) MiB"
stop "$BD_PID"
t0=$(date +%s%N)
start_breakerd "$BIN" "$D" db ""
t1=$(date +%s%N)
sleep 2
echo "$N breakers: RSS after a restart $(( $(rss_kib "$BD_PID") / 1024 )) MiB (listening after $(( (t1 - t0) / 1000000 )) ms)"
stop "$BD_PID"
