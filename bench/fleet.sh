#!/usr/bin/env bash
# What a healthy fleet costs breakerd: N real BreakerClient replicas (one process, breaker-fleet),
# B breakers each, R guarded calls/s per breaker, T seconds, against a release breakerd with a
# fresh database. Dependency 0 breaks halfway (--break-at 0.5), so the run also shows how long
# until every replica rejects it. The daemon runs on CPU 0, the fleet on the other CPUs.
#
#   bench/fleet.sh [REPLICAS BREAKERS RATE SECONDS]      default 50 10 100 10
#   BIN=DIR bench/fleet.sh ...                            use breakerd and breaker-fleet from DIR
#   FLEET_ARGS="--break-at 0" bench/fleet.sh ...          steady state only (nothing breaks)
#   FLEET_ARGS="--break-at 0 --warmup 3" ...              measured after 3 s of calls (first decisions left out)
#   DAEMON_ARGS="--max-dedupe-keys 0" bench/fleet.sh ...  extra breakerd flags (to see what a part costs)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
N=${1:-50}; B=${2:-10}; R=${3:-100}; T=${4:-10}
if [ -z "${BIN:-}" ]; then
    BIN=$(release_bin breakerd breaker-fleet)
fi
D=$(mktemp -d /tmp/breakerd-fleet.XXXXXX)
trap 'stop_all; rm -rf "$D"' EXIT
# shellcheck disable=SC2086  # DAEMON_ARGS: flags, split on spaces
start_breakerd "$BIN" "$D" db "taskset -c 0" --max-connections 100000 ${DAEMON_ARGS:-}
BD=$BD_PID; PORT=$BD_PORT; HTTP=$BD_HTTP_PORT
CPUS=$(nproc)
FLEET_CPUS=$([ "$CPUS" -gt 1 ] && echo "1-$((CPUS - 1))" || echo 0)
timeout $((T * 3 + 60)) taskset -c "$FLEET_CPUS" "$BIN/breaker-fleet" --target "127.0.0.1:$PORT" --http-port "$HTTP" \
    --daemon-pid "$BD" --replicas "$N" --breakers "$B" --rate "$R" --seconds "$T" ${FLEET_ARGS:-}
