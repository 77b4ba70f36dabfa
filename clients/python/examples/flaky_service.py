"""A small asyncio service guarding an httpx call with breakerd.

It starts a local HTTP "quote" server that fails during an outage window, and calls it every
50 ms through a breaker. While the dependency fails, the breaker opens (in breakerd, for every
replica at once) and calls get a cached quote instead of waiting on a failing server; after
the outage, half-open trials close it again.

    python examples/flaky_service.py --daemon 127.0.0.1:7420 --duration 12 --outage 3-7

Without a breakerd running, the client's local fallback applies the same rules in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections import Counter

import httpx

from breakerd import BreakerConfig, Client, ConnectionLost, DaemonError


async def flaky_server(outage: tuple[float, float], started: float) -> tuple[asyncio.AbstractServer, int]:
    """An HTTP/1.1 server answering 200 with a quote, or 503 during the outage window."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readline() not in (b"\r\n", b"\n", b""):
                pass
            elapsed = time.monotonic() - started
            failing = outage[0] <= elapsed < outage[1]
            status, body = ("503 Service Unavailable", b"down") if failing else ("200 OK", b"42.17")
            writer.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--daemon", default="127.0.0.1:7420", help="breakerd HOST:PORT")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds to run")
    parser.add_argument("--outage", default="3-7", help="seconds (from start) during which the server fails")
    args = parser.parse_args()
    outage = tuple(float(x) for x in args.outage.split("-", 1))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    started = time.monotonic()
    server, port = await flaky_server((outage[0], outage[1]), started)
    rules = BreakerConfig(failure_threshold=5, success_threshold=2, timeout_ms=1500)
    client = await Client.connect(args.daemon, client_name="example-quotes-1", default_local_config=rules)
    quotes = client.breaker("example-quotes")
    try:
        await quotes.configure(failure_threshold=5, success_threshold=2, timeout_ms=1500)
    except (ConnectionLost, DaemonError) as exc:
        print(f"breakerd not reachable ({exc}); the local fallback decides with the same rules")

    counts: Counter[str] = Counter()
    last_quote = "41.90 (cached)"

    async def cached_quote(http: httpx.AsyncClient) -> str:
        counts["fallback"] += 1
        return last_quote

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=1.0) as http:

        @client.guard("example-quotes", fallback=cached_quote, failure=lambda e: isinstance(e, httpx.HTTPError))
        async def quote(http: httpx.AsyncClient) -> str:
            response = await http.get("/quote")
            response.raise_for_status()
            return response.text

        second = 0
        while (elapsed := time.monotonic() - started) < args.duration:
            try:
                value = await quote(http)
                if not value.endswith("(cached)"):
                    counts["ok"] += 1
                    last_quote = value + " (cached)"
            except httpx.HTTPError:
                counts["failed"] += 1
            if int(elapsed) > second:
                second = int(elapsed)
                stats = client.stats
                source = "breakerd" if stats.is_daemon_available else "local fallback"
                print(f"t={second:>2}s ok={counts['ok']:>3} failed={counts['failed']:>2} "
                      f"served-from-cache={counts['fallback']:>3}  (decisions: {source})", flush=True)
            await asyncio.sleep(0.05)

    await client.aclose()
    server.close()
    print(f"done: ok={counts['ok']} failed={counts['failed']} served-from-cache={counts['fallback']}; "
          f"client stats: records_sent={client.stats.records_sent} "
          f"outcomes_sent={client.stats.outcomes_sent} fallback_decisions={client.stats.fallback_decisions}")


if __name__ == "__main__":
    asyncio.run(main())
