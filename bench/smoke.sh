#!/usr/bin/env bash
# CI smoke of breaker-bench: a built breakerd on a free port with a temp database, one second of
# the default mix, zero errors required. Uses the debug build `swift build` made.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
BIN="${BIN:-$(swift build --show-bin-path)}"
DIR="$(mktemp -d /tmp/breaker-bench-smoke.XXXXXX)"
trap 'stop_all; rm -rf "$DIR"' EXIT
start_breakerd "$BIN" "$DIR" smoke ""
# breaker-bench exits 1 on any error or unexpected reply, 2 if it cannot connect.
timeout 60 "$BIN/breaker-bench" --target "127.0.0.1:$BD_PORT" -c 4 -P 4 --breakers 100 --duration 1s --warmup 0.2s
echo "breaker-bench smoke: ok"
