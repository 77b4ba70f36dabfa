#!/usr/bin/env python3
"""breakerd on PostgreSQL, measured (issue #14; BENCHMARKS.md, "Seventh round").

  bench/postgres_bench.py BINDIR throughput [--duration 5] [--runs 3] [--pin 0|none] [--ops OP,OP]
      breaker-bench against a PostgreSQL-backed leader and the SQLite daemon side by side
      (should-attempt and record-success at 1x1, 64x1, 64x16; with --pin 0, the default, daemon
      and bench pinned to CPU 0 and the daemon on --threads 1, as bench/cpu-per-request.sh; with
      --pin none both float over every CPU, the daemon with its default threads), alternating
      which goes first, then pgbench -b simple-update at 1 and 64 clients against the same
      PostgreSQL (pgbench and PostgreSQL are never pinned).
  bench/postgres_bench.py BINDIR takeover [--rounds 12] [--breakers N]
      Three daemons on one database; each round kill -9 the leader and time until another
      daemon answers a decision; the killed one comes back as a standby. With --breakers N the
      database first gets N breakers through the stores (a SQLite daemon populated by
      breaker-bench --populate, then `breakerd migrate`), and each new leader's own "breakers
      loaded" log line gives its load time. Every standby's copy is current before each kill
      (breakerd_standby_copy_breakers = N); the first leader's load, with no copy, is cold.

  bench/postgres_bench.py BINDIR standby [--rounds 2] [--breakers 1000000]
      Memory and load times of one leader and one standby: N breakers written by one INSERT …
      SELECT generate_series; a daemon alone loads them cold (load_ms, VmRSS); a standby starts
      and fills its copy (fill time, VmRSS); the leader is killed and the standby takes over
      (load_ms, VmRSS, peak VmHWM). A build without hot standbys reports no fill.

  bench/postgres_bench.py BINDIR cold-ab --against OTHER_BINDIR [--rounds 6] [--breakers 1000000]
      Two builds' cold loads of the same data, back to back: one database of N breakers (as
      standby fills it), then a leader of each build in turn (ABBA order) loads it all; prints
      each load_ms and the daemon's CPU seconds when it became leader, then the medians.

Starts its own throwaway PostgreSQL (Debian's binaries, initdb as the postgres user, defaults:
fsync and synchronous_commit on) in a temp folder and removes it at exit.
"""
import argparse, atexit, glob, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]


def as_postgres(cmd):
    return ["runuser", "-u", "postgres", "--"] + cmd if os.getuid() == 0 else cmd


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Postgres:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="breakerd-pgbench-")
        os.chmod(self.dir, 0o755)
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        subprocess.run(as_postgres([f"{PG_BIN}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust",
                                    "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)
        subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                                    f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300",
                                    "start"]), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(self.stop)

    def stop(self):
        subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, statement, db="postgres"):
        return subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                               "postgres", "-d", db, "-c", statement], check=True, capture_output=True, text=True).stdout

    def database(self, name):
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.sql(f"CREATE DATABASE {name}")
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


class Daemon:
    def __init__(self, bindir, args, pin=None, log=None):
        self.log_path = log or tempfile.mktemp(prefix="breakerd-log-")
        cmd = ([f"taskset", "-c", pin] if pin else []) + [f"{bindir}/breakerd", "--port", "0", "--http-port", "0"] + args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(self.log_path, "w"), text=True)
        self.port = self.http_port = None
        for line in self.proc.stdout:
            if line.startswith("breakerd http on "):
                self.http_port = int(line.rsplit(":", 1)[1])
            if line.startswith("breakerd listening on "):
                self.port = int(line.rsplit(":", 1)[1])
                break
        if self.port is None:
            raise SystemExit(f"breakerd did not start: {open(self.log_path).read()}")
        atexit.register(self.kill)

    def request(self, line, timeout=1.0):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall((line + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                data += chunk
            return json.loads(data)

    def role(self):
        try:
            return self.request('{"op":"hello","client":"bench"}').get("role")
        except (OSError, ValueError):
            return None

    def copied(self):
        """breakerd_standby_copy_breakers: the breakers this standby holds ready for a takeover."""
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=1.0) as s:
                s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return None
        for line in data.decode().splitlines():
            if line.startswith("breakerd_standby_copy_breakers "):
                return int(float(line.split()[1]))
        return None

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait()


def wait_for(condition, timeout, interval=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def bench(bindir, port, c, p, op, duration, prefix, pin):
    out = subprocess.run((["taskset", "-c", pin] if pin else []) + [
        f"{bindir}/breaker-bench", "--target", f"127.0.0.1:{port}", "-c", str(c), "-P", str(p), "--breakers", "10",
        "--mix", f"{op}=100", "--name-prefix", prefix, "--warmup", "1s", "--duration", f"{duration}s", "--json"],
        capture_output=True, text=True)
    result = json.loads(out.stdout)
    return result["throughput_rps"], result["latency"]["p99_us"], result["errors"]


def throughput(args):
    pg = Postgres()
    pin = None if args.pin == "none" else args.pin
    print(json.dumps({"pin": args.pin, "runs": args.runs, "duration_s": args.duration}), flush=True)
    for op in args.ops.split(","):
        for c, p in [(1, 1), (64, 1), (64, 16)]:
            results = {"sqlite": [], "postgres": []}
            for run in range(args.runs):
                # Alternate which goes first, so a drift in the machine's load hits both alike.
                for storage in (["sqlite", "postgres"] if run % 2 == 0 else ["postgres", "sqlite"]):
                    folder = tempfile.mkdtemp(prefix="breakerd-db-")
                    flags = ["--db", f"{folder}/db.sqlite3", "--log-level", "warning", "--host", "127.0.0.1"]
                    flags += ["--threads", "1"] if pin else []
                    if storage == "postgres":
                        flags += ["--postgres-url", pg.database("bench_throughput")]
                    d = Daemon(args.bindir, flags, pin=pin)
                    if storage == "postgres" and not wait_for(lambda: d.role() == "leader", 30):
                        raise SystemExit("the PostgreSQL daemon did not lead")
                    rps, p99, errors = bench(args.bindir, d.port, c, p, op, args.duration,
                                             "sa-" if op == "should-attempt" else "rs-", pin)
                    d.kill(signal.SIGTERM)
                    shutil.rmtree(folder, ignore_errors=True)
                    if errors:
                        raise SystemExit(f"{storage} {op} {c}x{p}: {errors} errors")
                    results[storage].append(rps)
            line = {"op": op, "shape": f"{c}x{p}", **{k: sorted(v) for k, v in results.items()}}
            line["ratio_of_medians"] = round(statistics.median(results["postgres"]) / statistics.median(results["sqlite"]), 2)
            print(json.dumps(line), flush=True)
    pg.database("pgbench")
    subprocess.run([f"{PG_BIN}/pgbench", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-i", "-q", "pgbench"],
                   check=True, capture_output=True)
    for clients in [1, 64]:
        tps = []
        for _ in range(args.runs):
            out = subprocess.run([f"{PG_BIN}/pgbench", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-n", "-b",
                                  "simple-update", "-c", str(clients), "-j", "2", "-T", str(args.duration), "pgbench"],
                                 check=True, capture_output=True, text=True).stdout
            tps.append(float([l for l in out.splitlines() if l.startswith("tps")][0].split()[2]))
        print(json.dumps({"pgbench": "simple-update", "clients": clients, "tps": sorted(round(t) for t in tps)}), flush=True)
    settings = pg.sql("SELECT string_agg(name || '=' || setting, ', ') FROM pg_settings WHERE name IN "
                      "('fsync','synchronous_commit','shared_buffers','wal_sync_method','server_version')").strip()
    print(json.dumps({"postgres": settings}))


def loaded_line(daemon):
    """The daemon's last "breakers loaded" log line (its load time as leader), or None."""
    for line in reversed(open(daemon.log_path).read().splitlines()):
        if "breakers loaded" in line:
            return line
    return None


def takeover(args):
    pg = Postgres()
    url = pg.database("bench_takeover")
    folder = tempfile.mkdtemp(prefix="breakerd-takeover-")
    flags = lambda i: ["--db", f"{folder}/unused-{i}.sqlite3", "--postgres-url", url, "--cluster", "bench",
                       "--log-level", "info", "--host", "127.0.0.1"]
    daemons = [Daemon(args.bindir, flags(i), log=f"{folder}/log-{i}-0") for i in range(3)]
    leader = lambda: next((i for i, d in enumerate(daemons) if d.role() == "leader"), None)
    if not wait_for(lambda: leader() is not None, 30):
        raise SystemExit("no leader")
    if args.breakers:
        # Written through the stores: a SQLite daemon creates them, `breakerd migrate` copies them.
        for d in daemons:
            d.kill()
        sqlite = Daemon(args.bindir, ["--db", f"{folder}/source.sqlite3", "--log-level", "warning"])
        out = subprocess.run([f"{args.bindir}/breaker-bench", "--target", f"127.0.0.1:{sqlite.port}", "-c", "8",
                              "--breakers", str(args.breakers), "--populate", "--mix", "should-attempt=100", "--name-prefix",
                              "b-", "--warmup", "0s", "--duration", "1s", "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"populating failed: {out.stdout} {out.stderr}")
        sqlite.kill(signal.SIGTERM)
        start = time.monotonic()
        subprocess.run([f"{args.bindir}/breakerd", "migrate", "--from", f"{folder}/source.sqlite3", "--postgres-url", url,
                        "--cluster", "bench", "--force"], check=True)
        count = int(pg.sql("SELECT count(*) FROM breakers", "bench_takeover"))
        print(json.dumps({"migrated": count, "migrate_s": round(time.monotonic() - start, 1)}), flush=True)
        daemons = [Daemon(args.bindir, flags(i), log=f"{folder}/log-{i}-0") for i in range(3)]
        if not wait_for(lambda: leader() is not None, 120):
            raise SystemExit("no leader")
        print(json.dumps({"cold_load": loaded_line(daemons[leader()])}), flush=True)
    # An existing breaker: at --max-breakers (1,000,000 by default) a new name is `overloaded`.
    probe = '{"op":"should-attempt","breaker":"%s"}' % ("b-0" if args.breakers else "takeover-probe")
    times = []
    for round_ in range(args.rounds):
        # Hot standbys: each holds every breaker before the leader dies.
        stored = int(pg.sql("SELECT count(*) FROM breakers", "bench_takeover"))
        if not wait_for(lambda: all(d.copied() == stored for i, d in enumerate(daemons) if i != leader()), 120, 0.1):
            raise SystemExit("the standbys' copies did not catch up within 120 s")
        old = leader()
        was = daemons[old]
        t0 = time.monotonic()
        was.kill()
        others = [d for i, d in enumerate(daemons) if i != old]

        def served():
            for d in others:
                try:
                    if d.request(probe, timeout=0.2).get("ok"):
                        return True
                except (OSError, ValueError):
                    pass
            return False

        if not wait_for(served, 60, interval=0.002):
            raise SystemExit("no daemon served within 60 s")
        elapsed = time.monotonic() - t0
        new = leader()
        loaded = loaded_line(daemons[new]) if new is not None else None
        times.append(elapsed)
        print(json.dumps({"round": round_ + 1, "takeover_s": round(elapsed, 3), "log": loaded}), flush=True)
        daemons[old] = Daemon(args.bindir, flags(old), log=f"{folder}/log-{old}-{round_ + 1}")
        wait_for(lambda: daemons[old].role() == "standby", 30)
    print(json.dumps({"rounds": len(times), "p50_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
                      "min_s": round(min(times), 3)}))
    for d in daemons:
        d.kill()
    shutil.rmtree(folder, ignore_errors=True)


def fill_breakers(pg, database, bindir, flags, count, log):
    """A new database of `count` breakers: a daemon writes the first (so the schema is its
    own), and one INSERT … SELECT generate_series copies it. Returns the database's URL."""
    url = pg.database(database)
    first = Daemon(bindir, flags(url, 0), log=log)
    wait_for(lambda: first.role() == "leader", 30)
    first.request('{"op":"record-failure","breaker":"b-0"}')
    wait_for(lambda: pg.sql("SELECT count(*) FROM breakers", database).strip() == "1", 10)
    first.kill()
    columns = pg.sql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
                     "WHERE table_name = 'breakers' AND column_name NOT IN ('name', 'change_seq')", database).strip()
    pg.sql(f"INSERT INTO breakers (name, {columns}) SELECT 'b-' || i, {columns} FROM breakers, "
           f"generate_series(1, {count - 1}) i WHERE name = 'b-0'", database)
    return url


def daemon_flags(folder):
    return lambda db, i: ["--db", f"{folder}/unused-{i}.sqlite3", "--postgres-url", db, "--cluster", "bench",
                          "--log-level", "info", "--host", "127.0.0.1"]


def cold_ab(args):
    pg = Postgres()
    folder = tempfile.mkdtemp(prefix="breakerd-cold-ab-")
    flags = daemon_flags(folder)
    url = fill_breakers(pg, "bench_cold_ab", args.bindir, flags, args.breakers, f"{folder}/first")
    pg.sql("VACUUM ANALYZE breakers", "bench_cold_ab")  # every load reads the same settled table
    builds = {"A": args.bindir, "B": args.against}
    tick = os.sysconf("SC_CLK_TCK")
    results = {name: [] for name in builds}
    for round_ in range(args.rounds):
        for name, bindir in (list(builds.items()) if round_ % 4 in (0, 3) else list(reversed(builds.items()))):
            daemon = Daemon(bindir, flags(url, 1), log=f"{folder}/{name}-{round_}")
            wait_for(lambda: daemon.role() == "leader", 120, 0.02)
            fields = open(f"/proc/{daemon.proc.pid}/stat").read().rsplit(")", 1)[1].split()
            cpu_s = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            load_ms = round(float(loaded_line(daemon).split("load_ms=")[1]))
            daemon.kill()
            results[name].append((load_ms, cpu_s))
            print(json.dumps({"build": name, "bindir": bindir, "round": round_ + 1, "load_ms": load_ms, "cpu_s": cpu_s,
                              "loadavg": open("/proc/loadavg").read().split()[:3]}), flush=True)
            time.sleep(1)
    for name, rows in results.items():
        print(json.dumps({"build": name, "bindir": builds[name], "median_load_ms": statistics.median(r[0] for r in rows),
                          "median_cpu_s": statistics.median(r[1] for r in rows)}), flush=True)
    shutil.rmtree(folder, ignore_errors=True)


def standby(args):
    pg = Postgres()
    folder = tempfile.mkdtemp(prefix="breakerd-standby-")
    flags = daemon_flags(folder)
    status = lambda d, key: int([l for l in open(f"/proc/{d.proc.pid}/status") if l.startswith(key)][0].split()[1]) // 1024
    load_ms = lambda d: round(float(loaded_line(d).split("load_ms=")[1]))
    for round_ in range(args.rounds):
        url = fill_breakers(pg, f"bench_standby_{round_}", args.bindir, flags, args.breakers, f"{folder}/first-{round_}")
        leader = Daemon(args.bindir, flags(url, 1), log=f"{folder}/leader-{round_}")
        wait_for(lambda: leader.role() == "leader", 120, 0.02)
        result = {"round": round_ + 1, "cold_load_ms": load_ms(leader)}
        other = Daemon(args.bindir, flags(url, 2), log=f"{folder}/standby-{round_}")
        wait_for(lambda: other.role() == "standby", 30)
        start = time.monotonic()
        if other.copied() is not None and wait_for(lambda: other.copied() == args.breakers, 300, 0.1):
            result["fill_s"] = round(time.monotonic() - start, 1)
        time.sleep(2)
        result.update(leader_rss_mib=status(leader, "VmRSS"), standby_rss_mib=status(other, "VmRSS"))
        leader.kill()
        wait_for(lambda: other.role() == "leader", 120, 0.01)
        time.sleep(2)
        result.update(takeover_load_ms=load_ms(other), new_leader_rss_mib=status(other, "VmRSS"),
                      new_leader_peak_mib=status(other, "VmHWM"))
        print(json.dumps(result), flush=True)
        other.kill()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so atexit stops the daemons and PostgreSQL
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bindir")
    parser.add_argument("what", choices=["throughput", "takeover", "standby", "cold-ab"])
    parser.add_argument("--against", help="cold-ab: the other build's BINDIR")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3, help="throughput: runs per shape and storage (medians compared)")
    parser.add_argument("--pin", default="0", help="throughput: CPU list for daemon and bench (taskset), or none")
    parser.add_argument("--ops", default="should-attempt,record-success", help="throughput: ops measured, comma-separated")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--breakers", type=int, default=0)
    args = parser.parse_args()
    if args.what == "cold-ab" and not args.against:
        parser.error("cold-ab needs --against OTHER_BINDIR")
    {"throughput": throughput, "takeover": takeover, "standby": standby, "cold-ab": cold_ab}[args.what](args)
