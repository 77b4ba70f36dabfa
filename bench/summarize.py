#!/usr/bin/env python3
"""Turns bench/compare.sh's results.jsonl into one Markdown table with ratios breakerd/Redis and
breakerd/limit (the loopback limit: a C server answering each line with a fixed reply)."""
import json
import re
import sys
from statistics import mean

if sys.argv[1] == "--row":  # one progress line for compare.sh: --row JSON LABEL
    r = json.loads(sys.argv[2])
    errs = r.get("errors", 0) + r.get("unexpected_replies", 0) + r.get("connection_failures", 0)
    p99 = r.get("latency", {}).get("p99_us", 0)
    print(f"  {sys.argv[3]:<70} {r['throughput_rps']:>10,.0f} req/s  p99 {p99:>9.1f} µs  errors {errs}")
    sys.exit(0)

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]


def shape(r):
    m = re.search(r"-c (\d+) -P (\d+)", r.get("args", ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def runs(label, s):
    return [r["result"] for r in rows if r.get("label") == label and shape(r) == s]


def tput(label, s):
    rs = runs(label, s)
    return mean(r["throughput_rps"] for r in rs) if rs else None


def p99(label, s):
    rs = runs(label, s)
    return mean(r["latency"]["p99_us"] for r in rs) if rs and "latency" in rs[0] else None


def errors(label, s):
    return sum(r.get("errors", 0) + r.get("unexpected_replies", 0) + r.get("connection_failures", 0)
               for r in runs(label, s))


def fmt(v, unit=""):
    return "–" if v is None else f"{v:,.0f}{unit}"


shapes = sorted({shape(r) for r in rows if shape(r)})
out = ["| load shape | C×P | Redis req/s | breakerd req/s | limit req/s | breakerd/Redis | breakerd/limit | Redis/limit "
       "| Redis p99 µs | breakerd p99 µs | errors |",
       "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
# The limit server answers any line the same way: one measurement per shape serves every pair.
LIMITED = {"redis-get", "redis-aof-incr"}
pairs = [
    ("decision: GET vs should-attempt (pinned)", "redis-get", "breakerd-should-attempt"),
    ("failure: INCR (AOF everysec) vs record-failure (pinned)", "redis-aof-incr", "breakerd-record-failure"),
    ("decision on open breakers: GET vs rejected should-attempt (pinned)", "redis-get-open", "breakerd-should-attempt-open"),
    ("mix 90/8/2: AOF vs breakerd (pinned)", "redis-aof-mix", "breakerd-mix"),
    ("decision, open loop at ½ Redis max (pinned)", "redis-get-rate", "breakerd-should-attempt-rate"),
    ("decision, unpinned", "redis-get-unpinned", "breakerd-should-attempt-unpinned"),
    ("decision, many breakers (pinned)", "redis-get-big", "breakerd-should-attempt-big"),
]
for title, a, b in pairs:
    for s in shapes:
        ra, rb = tput(a, s), tput(b, s)
        if ra is None and rb is None:
            continue
        ratio = f"{rb / ra:.2f}×" if ra and rb else "–"
        rl = tput("limit", s) if a in LIMITED else None
        to_limit = f"{rb / rl:.2f}×" if rl and rb else "–"
        redis_to_limit = f"{ra / rl:.2f}×" if rl and ra else "–"
        pa, pb = p99(a, s), p99(b, s)
        out.append(f"| {title} | {s[0]}×{s[1]} | {fmt(ra)} | {fmt(rb)} | {fmt(rl)} | **{ratio}** | **{to_limit}** | {redis_to_limit} | "
                   f"{'–' if pa is None else f'{pa:.0f}'} | {'–' if pb is None else f'{pb:.0f}'} | "
                   f"{errors(a, s) + errors(b, s)} |")

big = [r for r in rows if r.get("label") == "big"]
mixbig = [r["result"] for r in rows if r.get("label") == "breakerd-mix-big"]
if big:
    b = big[0]
    small = tput("breakerd-should-attempt", (64, 1))
    large = tput("breakerd-should-attempt-big", (64, 1))
    out.append("")
    out.append(f"- {b['breakers']:,} breakers: should-attempt 64×1 {fmt(large)} req/s = "
               f"{(large / small if small and large else 0):.2f}× the 10-breaker figure; "
               f"daemon RSS {b['rss_kib_after_run'] / 1024:.0f} MiB after the run, "
               f"{b['rss_kib_after_restart'] / 1024:.0f} MiB right after restart; "
               f"database {b['db_bytes'] / 1e6:.0f} MB; restart to listening {b['restart_s']} s.")
    if mixbig:
        out.append(f"- {b['breakers']:,} breakers, mix 90/8/2 64×1: {mixbig[0]['throughput_rps']:,.0f} req/s.")

cross = [r for r in rows if r.get("label", "").startswith("redis-benchmark-")]
if cross:
    out.append("")
    out.append("| redis-benchmark cross-check | C×P | redis-benchmark req/s | breaker-bench against the same Redis | ratio |")
    out.append("|---|---|---:|---:|---:|")
    for r in cross:
        s = shape(r)
        own = tput("redis-get" if r["label"].endswith("get") else "redis-aof-incr", s)
        theirs = r["result"]["throughput_rps"]
        ratio = f"{own / theirs:.2f}" if own and theirs else "–"
        out.append(f"| {r['label'][len('redis-benchmark-'):].upper()} | {s[0]}×{s[1]} | {fmt(theirs)} | {fmt(own)} | {ratio} |")
print("\n".join(out))
