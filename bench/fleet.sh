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
cd "$(dirname "$0")/.."
N=${1:-50}; B=${2:-10}; R=${3:-100}; T=${4:-10}
if [ -z "${BIN:-}" ]; then
    swift build -c release --product breakerd >/dev/null
    swift build -c release --product breaker-fleet >/dev/null
    BIN="$(swift build -c release --show-bin-path)"
fi
D=$(mktemp -d /tmp/breakerd-fleet.XXXXXX)
taskset -c 0 "$BIN/breakerd" --host 127.0.0.1 --port 0 --http-host 127.0.0.1 --http-port 0 \
    --db "$D/db.sqlite3" --log-level warning --max-connections 100000 ${DAEMON_ARGS:-} > "$D/log" 2>&1 &
BD=$!
trap 'kill $BD 2>/dev/null || true; wait $BD 2>/dev/null || true; rm -rf "$D"' EXIT
PORT=""; HTTP=""
for _ in $(seq 200); do
    PORT=$(sed -n 's/^breakerd listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$D/log")
    HTTP=$(sed -n 's/^breakerd http on 127.0.0.1:\([0-9]*\)$/\1/p' "$D/log")
    [ -n "$PORT" ] && [ -n "$HTTP" ] && break
    sleep 0.05
done
[ -n "$PORT" ] && [ -n "$HTTP" ] || { echo "breakerd did not start; log:" >&2; cat "$D/log" >&2; exit 1; }
CPUS=$(nproc)
FLEET_CPUS=$([ "$CPUS" -gt 1 ] && echo "1-$((CPUS - 1))" || echo 0)
timeout $((T * 3 + 60)) taskset -c "$FLEET_CPUS" "$BIN/breaker-fleet" --target "127.0.0.1:$PORT" --http-port "$HTTP" \
    --daemon-pid "$BD" --replicas "$N" --breakers "$B" --rate "$R" --seconds "$T" ${FLEET_ARGS:-}
