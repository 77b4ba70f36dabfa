# Helpers the bench scripts share; a script sources it (`. "$(dirname "$0")/lib.sh"`) before it
# changes folder. They start servers on free ports of 127.0.0.1, wait until they listen, and stop
# exactly what they started: every process started here stays in BENCH_PIDS until `stop` stops
# it, and a script's EXIT trap calls `stop_all` for the rest.

BENCH_PIDS=()
# How long a breakerd may take to load its database and listen, in 50 ms tries (30 s: 1,000,000
# breakers load in a few seconds).
BREAKERD_START_TRIES=600

release_bin() {  # release_bin PRODUCT...: builds each product in release mode, prints the folder holding them
    local product
    for product in "$@"; do swift build -c release --product "$product" >/dev/null || return 1; done
    swift build -c release --show-bin-path
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {  # wait_port PORT: until something accepts on 127.0.0.1:PORT (10 s at most)
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listening on $1" >&2; return 1
}

# logged_port LOG PHRASE TRIES [PID] → prints PORT once LOG holds the line "PHRASE 127.0.0.1:PORT";
# fails after TRIES tries 50 ms apart, or as soon as process PID (the one writing LOG) has exited.
logged_port() {
    local port
    for _ in $(seq "$3"); do
        port=$(sed -n "s/^$2 127.0.0.1:\([0-9]*\)\$/\1/p" "$1")
        [ -n "$port" ] && { echo "$port"; return 0; }
        [ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# start_breakerd BIN DIR NAME PIN [breakerd flags...] → sets BD_PID, BD_PORT, BD_HTTP_PORT.
# Starts BIN/breakerd under PIN (a command prefix such as "taskset -c 0", or "" for none) with
# both listeners on free ports of 127.0.0.1, the database DIR/NAME.sqlite3 (kept from an earlier
# start: a restart), warnings only, logging to DIR/NAME.log; waits until it listens. If it does
# not, prints its log to stderr and fails.
start_breakerd() {
    local bin=$1 dir=$2 name=$3 pin=$4; shift 4
    local log="$dir/$name.log"
    : > "$log"
    $pin "$bin/breakerd" --host 127.0.0.1 --port 0 --http-host 127.0.0.1 --http-port 0 \
        --db "$dir/$name.sqlite3" --log-level warning "$@" > "$log" 2>&1 &
    BD_PID=$!
    BENCH_PIDS+=("$BD_PID")
    if BD_PORT=$(logged_port "$log" "breakerd listening on" "$BREAKERD_START_TRIES" "$BD_PID") &&
        BD_HTTP_PORT=$(logged_port "$log" "breakerd http on" "$BREAKERD_START_TRIES" "$BD_PID"); then
        return 0
    fi
    echo "breakerd did not start; its log ($log):" >&2
    cat "$log" >&2
    return 1
}

stop() {  # stop PID: SIGTERM, wait until it has exited, forget it
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=() pid
    for pid in "${BENCH_PIDS[@]}"; do [ "$pid" != "$1" ] && keep+=("$pid"); done
    BENCH_PIDS=("${keep[@]+"${keep[@]}"}")
}

stop_all() {  # SIGTERM to every process started and not yet stopped, then wait for them all
    local pid
    for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    BENCH_PIDS=()
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }  # rss_kib PID: its resident memory in KiB
