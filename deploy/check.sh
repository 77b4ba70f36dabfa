#!/usr/bin/env bash
# Checks everything in deploy/ with the real tools where they run here, and fails on any real
# problem. A check is skipped, with a message saying so, only when its tool is not installed
# (.ci/run installs them all: prometheus for promtool, kubernetes-validate from PyPI; systemd
# and PyYAML come with the machine). Run after `swift build`: the last checks start the built
# breakerd (BREAKERD_BIN, else .build/debug/breakerd) and scrape it.
set -uo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
bin=${BREAKERD_BIN:-$root/.build/debug/breakerd}
work=$(mktemp -d)
daemon_pid=""
cleanup() {
    if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT

failures=0
skipped=0
pass() { echo "  ok: $*"; }
fail() { echo "  FAIL: $*" >&2; failures=$((failures + 1)); }
skip() { echo "  SKIP: $*"; skipped=$((skipped + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }

echo "== systemd unit"
if have systemd-analyze; then
    # verify insists that ExecStart's binary exists: point it at the built one (or /bin/true).
    target=/bin/true
    [ -x "$bin" ] && target=$bin
    for unit in systemd/*.service; do
        name=$(basename "$unit")
        sed "s#/usr/local/bin/breakerd#$target#" "$unit" > "$work/$name"
        # It exits 0 on unknown keys and only prints them, so any output is a failure too.
        if out=$(systemd-analyze verify "$work/$name" 2>&1) && [ -z "$out" ]; then
            pass "systemd-analyze verify $name"
        else
            fail "systemd-analyze verify $name: $out"
        fi
        if out=$(systemd-analyze security --offline=yes --threshold=20 "$work/$name" 2>&1); then
            pass "systemd-analyze security $name: $(echo "$out" | grep -o 'Overall exposure level.*')"
        else
            fail "systemd-analyze security $name: exposure above 2.0 (threshold 20 on the 0-100 scale): $(echo "$out" | tail -1)"
        fi
    done
else
    skip "systemd-analyze not installed (apt-get install systemd)"
fi

echo "== Kubernetes manifests"
if python3 -c "import yaml" 2>/dev/null; then
    if python3 check_deploy.py manifests; then pass "manifests agree with each other and the config"; else fail "structural checks"; fi
else
    fail "PyYAML missing (pip install pyyaml): cannot even parse the manifests"
fi
if python3 -c "import kubernetes_validate" 2>/dev/null; then
    for file in kubernetes/*.yaml kubernetes-postgres/*.yaml; do
        if out=$(python3 -m kubernetes_validate --strict --quiet "$file" 2>&1); then
            if echo "$out" | grep -q "Couldn't find schema"; then
                pass "$file: no schema for its kind (a CRD); checked structurally above"
            else
                pass "$file: valid against the Kubernetes schema (strict)"
            fi
        else
            fail "$file: $out"
        fi
    done
else
    skip "kubernetes-validate not installed (pip install kubernetes-validate): schema check not run"
fi

echo "== Prometheus rules and Grafana dashboard"
if have promtool; then
    if out=$(promtool check rules prometheus/alerts.yml 2>&1); then pass "promtool check rules"; else fail "$out"; fi
    if out=$(cd prometheus && promtool test rules alerts_test.yml 2>&1); then pass "promtool test rules"; else fail "$out"; fi
else
    skip "promtool not installed (apt-get install prometheus): alert rules not checked"
fi
if python3 check_deploy.py dashboard "$work/dashboard-rules.yml"; then
    pass "dashboard JSON well-formed"
    if have promtool; then
        if out=$(promtool check rules "$work/dashboard-rules.yml" 2>&1); then
            pass "every dashboard query parses as PromQL"
        else
            fail "dashboard queries: $out"
        fi
    fi
else
    fail "dashboard structure"
fi

echo "== against a running breakerd"
if [ -x "$bin" ]; then
    if out=$("$bin" --config breakerd.json --print-config 2>&1); then pass "deploy/breakerd.json is accepted"; else fail "deploy/breakerd.json: $out"; fi
    "$bin" --port 0 --http-port 0 --db "$work/db.sqlite3" --log-level error > "$work/stdout" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/stdout" && break; sleep 0.1; done
    port=$(sed -n 's/^breakerd listening on .*:\([0-9]*\)$/\1/p' "$work/stdout")
    http=$(sed -n 's/^breakerd http on .*:\([0-9]*\)$/\1/p' "$work/stdout")
    if [ -z "$port" ] || [ -z "$http" ]; then
        fail "breakerd did not start: $(cat "$work/stdout")"
    else
        # Traffic that gives every series a value: a breaker opened, a rejection, an error.
        printf '%s\n' '{"op":"record-failure","breaker":"check","count":5}' '{"op":"should-attempt","breaker":"check"}' \
            '{"op":"explode"}' | python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $port)); s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass"
        python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$http/metrics').read().decode(), end='')" > "$work/scrape.txt"
        if python3 check_deploy.py names "$work/scrape.txt"; then pass "alerts and dashboard use only exposed metric names"; else fail "metric names"; fi
        if have promtool; then
            if out=$(promtool check metrics < "$work/scrape.txt" 2>&1); then pass "promtool check metrics on a real scrape"; else fail "promtool check metrics: $out"; fi
        fi
    fi
else
    skip "$bin not built: run swift build first (metric names and the example config not checked)"
fi

echo "== the PostgreSQL unit and Deployment start as written"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ ! -x "$bin" ]; then
    skip "$bin not built: run swift build first (the PostgreSQL command lines not started)"
elif [ -z "$pg_bin" ]; then
    skip "PostgreSQL not installed (apt-get install postgresql): the PostgreSQL command lines not started"
else
    # A throwaway server, as the tests start one: initdb into $work, as postgres when we are root.
    as_pg=(); [ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
    pg_dir=$(mktemp -d); chmod 755 "$pg_dir"; [ "$(id -u)" = 0 ] && chown postgres: "$pg_dir"
    pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust > /dev/null
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
        -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1" start > /dev/null
    echo unused > "$work/pg-password"
    python3 check_deploy.py postgres-argv "$bin" "$work/pg-password" > "$work/pg-argv.jsonl"
    n=0
    while IFS= read -r line; do
        n=$((n + 1))
        name=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["name"])' "$line")
        mapfile -t argv < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])["argv"]))' "$line")
        "${as_pg[@]}" "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -c "CREATE DATABASE deploy_$n" postgres
        mkdir -p "$work/cwd-$n"
        (cd "$work/cwd-$n" && BREAKERD_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/deploy_$n" \
            exec "${argv[@]}" > "$work/pg-$n.out" 2> "$work/pg-$n.err") &
        pid=$!
        for _ in $(seq 100); do grep -q "listening on" "$work/pg-$n.out" && break; sleep 0.1; done
        listen=$(sed -n 's/^breakerd listening on \(.*\):[0-9]*$/\1/p' "$work/pg-$n.out")
        http=$(sed -n 's/^breakerd http on .*:\([0-9]*\)$/\1/p' "$work/pg-$n.out")
        ready=""
        if [ -n "$http" ]; then
            for _ in $(seq 200); do
                ready=$(python3 -c "import urllib.request
try: print(urllib.request.urlopen('http://127.0.0.1:$http/readyz').status)
except Exception as e: print(getattr(e, 'code', ''))")
                [ "$ready" = 200 ] && break
                sleep 0.1
            done
        fi
        kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
        if [ -z "$listen" ]; then
            fail "$name: breakerd did not start: $(cat "$work/pg-$n.err")"
        elif [ "$ready" != 200 ]; then
            fail "$name: started but never led (/readyz $ready): $(tail -3 "$work/pg-$n.err")"
        elif [ "$listen" = 127.0.0.1 ] || [ "$listen" = ::1 ]; then
            fail "$name: leads, but listens on $listen only: daemons on other hosts and their clients cannot reach it"
        elif [ -n "$(ls -A "$work/cwd-$n")" ]; then
            fail "$name: wrote into its working folder on PostgreSQL: $(ls -A "$work/cwd-$n")"
        else
            pass "$name: starts on PostgreSQL, leads (/readyz 200), listens on $listen, writes nothing locally"
        fi
    done < "$work/pg-argv.jsonl"
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop > /dev/null
    rm -rf "$pg_dir"
fi

echo "deploy/check.sh: $failures failed, $skipped skipped"
[ "$failures" -eq 0 ]
