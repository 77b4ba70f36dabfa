#!/usr/bin/env python3
"""Dedupe keys at takeover, measured (BENCHMARKS.md, "Dedupe keys at takeover").

  bench/dedupe_takeover.py BINDIR [BINDIR ...] [--keys 500000] [--rounds 5] [--pin CPUS]

Starts its own throwaway PostgreSQL (bench/postgres_bench.py's: Debian's binaries, defaults),
lets the first BINDIR's breakerd create the schema, then writes --keys rows into record_dedupe
with one `INSERT … SELECT generate_series` (no breakers; keys expire an hour from now, so each
is loaded, up to --max-dedupe-keys, 500,000 by default). Then, --rounds times, for each BINDIR
in turn (the order alternates from round to round): one breakerd alone becomes leader, and its
log line "leader lease taken; breakers loaded" gives load_ms (taking the lease to the registry
built: the breakers' and the dedupe keys' queries, decoding, and remembering each key), and
/proc gives the process's CPU (utime + stime) at that moment; then it is killed (-9) and the
next one starts (one that has not loaded within 120 s is reported and killed). Prints one JSON
line per load and the medians per BINDIR.
Also prints PostgreSQL's own time for the dedupe query (EXPLAIN ANALYZE), and psql's time to
fetch its rows.
"""
import argparse, atexit, json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postgres_bench import PG_BIN, Daemon, Postgres, wait_for  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def load_once(bindir, url, folder, label, pin, extra):
    log = f"{folder}/log-{label}"
    flags = ["--db", f"{folder}/unused.sqlite3", "--postgres-url", url, "--cluster", "bench", "--log-level", "info",
             "--host", "127.0.0.1"] + extra
    daemon = Daemon(bindir, flags, pin=pin, log=log)
    line, cpu = None, None
    deadline = time.monotonic() + 120
    while line is None and time.monotonic() < deadline:
        for text in open(log).read().splitlines():
            if "breakers loaded" in text:
                line = text
                break
        else:
            time.sleep(0.002)
            continue
        cpu = cpu_seconds(daemon.proc.pid)
    attempts = open(log).read().count("cannot take over as leader") + (line is not None)
    daemon.kill()
    if line is None:
        failures = [text for text in open(log).read().splitlines() if "cannot take over" in text]
        print(json.dumps({"bindir": bindir, "no_load_within_s": 120, "failed_attempts": attempts,
                          "last_error": failures[-1] if failures else None}), flush=True)
        return None, None, attempts
    load_ms = round(float(line.split("load_ms=")[1].split()[0].strip('",')))
    return load_ms, round(cpu, 2), attempts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bindirs", nargs="+")
    parser.add_argument("--keys", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pin", default=None, help="taskset CPU list for the daemons (PostgreSQL is never pinned)")
    parser.add_argument("--daemon-flag", action="append", default=[], help="extra breakerd flag (repeatable)")
    args = parser.parse_args()

    pg = Postgres()
    url = pg.database("bench_dedupe")
    folder = tempfile.mkdtemp(prefix="breakerd-dedupe-")
    atexit.register(shutil.rmtree, folder, True)
    load_once(args.bindirs[0], url, folder, "schema", args.pin, args.daemon_flag)  # creates the schema
    start = time.monotonic()
    pg.sql(f"""
        INSERT INTO record_dedupe (breaker, key, state, generation, stale, expires_ms)
        SELECT 'svc-' || (i % 1000), 'rec-' || md5(i::text), (ARRAY['closed','open','half_open'])[1 + i % 3], i,
               i % 7 = 0, (extract(epoch FROM now()) * 1000)::bigint + 3600000 + i
        FROM generate_series(1, {args.keys}) AS i""", "bench_dedupe")
    pg.sql("VACUUM ANALYZE record_dedupe", "bench_dedupe")
    print(json.dumps({"keys": args.keys, "insert_s": round(time.monotonic() - start, 1),
                      "table": pg.sql("SELECT pg_size_pretty(pg_total_relation_size('record_dedupe'))", "bench_dedupe").strip()}),
          flush=True)
    select = ("SELECT breaker, key, state, generation, stale, expires_ms FROM record_dedupe WHERE expires_ms > "
              f"(extract(epoch FROM now()) * 1000)::bigint ORDER BY expires_ms DESC, breaker, key LIMIT {args.keys}")
    for _ in range(2):
        plan = pg.sql(f"EXPLAIN (ANALYZE, TIMING OFF) {select}", "bench_dedupe")
        start = time.monotonic()
        subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                        "-d", "bench_dedupe", "-c", select], check=True, stdout=subprocess.DEVNULL)
        print(json.dumps({"server_execution": plan.strip().splitlines()[-1].strip(),
                          "psql_fetch_s": round(time.monotonic() - start, 2)}), flush=True)

    results = {b: [] for b in args.bindirs}
    for round_ in range(args.rounds):
        order = args.bindirs if round_ % 2 == 0 else list(reversed(args.bindirs))
        for bindir in order:
            load_ms, cpu, attempts = load_once(bindir, url, folder, f"{round_}-{len(results[bindir])}-{os.path.basename(bindir)}",
                                               args.pin, args.daemon_flag)
            if load_ms is not None:
                results[bindir].append((load_ms, cpu))
            print(json.dumps({"round": round_ + 1, "bindir": bindir, "load_ms": load_ms, "cpu_s": cpu, "attempts": attempts,
                              "loadavg": open("/proc/loadavg").read().split()[0]}), flush=True)
    for bindir, runs in results.items():
        if not runs:
            continue
        print(json.dumps({"bindir": bindir, "loads": len(runs), "median_load_ms": statistics.median(r[0] for r in runs),
                          "median_cpu_s": statistics.median(r[1] for r in runs)}), flush=True)


if __name__ == "__main__":
    main()
