"""What ``async with breaker:`` adds around a no-op with a cached decision, side by side with
pybreaker's in-process breaker around the same no-op, in one run.

    pip install ./clients/python pybreaker
    python clients/python/bench/guard_overhead.py --breakerd .build/release/breakerd

Starts its own breakerd (default ``--cache-ms`` 100, so a real client's periodic re-asking and
its folded records are part of the cost) on a free port with a temporary database. Prints the
median nanoseconds per call over interleaved rounds, minus an unguarded baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import os
import platform
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator

import pybreaker

from breakerd import Client


async def noop() -> None:
    return None


def sync_noop() -> None:
    return None


@contextlib.contextmanager
def breakerd(args: argparse.Namespace) -> Iterator[str]:
    """A breakerd child on a free port with a temporary database; yields its address. Started
    before the event loop (reading its first lines blocks), and its later output drained by a
    thread so a full pipe can never stall it mid-benchmark."""
    with tempfile.TemporaryDirectory() as tmp:
        daemon = subprocess.Popen(
            [args.breakerd, "--port", "0", "--http-port", "0", "--db", os.path.join(tmp, "bench.sqlite3"),
             "--log-level", "error", "--cache-ms", str(args.cache_ms)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert daemon.stdout is not None
            while not (line := daemon.stdout.readline().decode()).startswith("breakerd listening on "):
                if not line:
                    raise SystemExit("breakerd did not start")
            threading.Thread(target=daemon.stdout.read, daemon=True).start()
            yield line.strip().rsplit(" ", 1)[1]
        finally:
            daemon.kill()
            daemon.wait()


async def run(args: argparse.Namespace, address: str) -> None:
    client = await Client.connect(address)
    db = client.breaker("bench-noop")
    async with db:
        pass  # the first decision: asked once, cached from here on
    cb = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)
    n = args.calls

    async def baseline() -> float:
        t = time.perf_counter()
        for _ in range(n):
            await noop()
        return time.perf_counter() - t

    async def guarded() -> float:
        t = time.perf_counter()
        for _ in range(n):
            async with db:
                await noop()
        return time.perf_counter() - t

    async def pyb_calling() -> float:
        t = time.perf_counter()
        for _ in range(n):
            with cb.calling():
                await noop()
        return time.perf_counter() - t

    async def pyb_call() -> float:
        t = time.perf_counter()
        for _ in range(n):
            cb.call(sync_noop)
        return time.perf_counter() - t

    async def sync_baseline() -> float:
        t = time.perf_counter()
        for _ in range(n):
            sync_noop()
        return time.perf_counter() - t

    cases = {"baseline: await noop()": baseline, "breakerd: async with db: await noop()": guarded,
             "pybreaker: with cb.calling(): await noop()": pyb_calling,
             "sync baseline: noop()": sync_baseline, "pybreaker: cb.call(noop)": pyb_call}
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, case in cases.items():
            results[name].append((await case()) / n * 1e9)
    await client.aclose()
    med = {name: statistics.median(v) for name, v in results.items()}
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"pybreaker {importlib.metadata.version('pybreaker')}, {n} calls x {args.rounds} rounds, "
          f"breakerd --cache-ms {args.cache_ms}")
    print(f"{'case':48} {'ns/call':>8} {'added':>8}")
    for name, value in med.items():
        base = med["sync baseline: noop()"] if name.startswith(("sync", "pybreaker: cb.call")) else med["baseline: await noop()"]
        print(f"{name:48} {value:8.0f} {value - base:8.0f}")
    s = client.stats
    print(f"client: decision_requests={s.decision_requests} records_sent={s.records_sent} "
          f"outcomes_sent={s.outcomes_sent} records_dropped={s.records_dropped}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--breakerd", default=os.environ.get("BREAKERD_BIN", ".build/debug/breakerd"))
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cache-ms", type=int, default=100)
    args = parser.parse_args()
    with breakerd(args) as address:
        asyncio.run(run(args, address))


if __name__ == "__main__":
    main()
