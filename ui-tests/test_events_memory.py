"""/events with a reader that never reads: the daemon's memory stays bounded."""
import socket
import time

from breakerd import Daemon, pipeline_parts

ROUNDS = 3
PAIRS_PER_ROUND = 30_000     # force-open + release: 60,000 transitions (~12 MB of events) a round
# Without a bound the daemon would keep every event for the stuck reader: ~12 MB more each
# round. Bounded, it keeps at most 512 KiB queued (plus socket buffers) whatever happens.
MAX_GROWTH_AFTER_FIRST_ROUND_KIB = 8 * 1024


def test_a_reader_that_never_reads_does_not_grow_memory(binary):
    d = Daemon(binary)
    try:
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", d.http_port))
        stuck.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        time.sleep(0.5)
        rss = [d.rss_kib()]
        names = [f"storm-{i}" for i in range(50)]
        for r in range(ROUNDS):
            parts = [[], [], [], []]
            for i in range(PAIRS_PER_ROUND):
                name = names[i % len(names)]  # each name stays on one connection: pairs in order
                part = parts[(i % len(names)) % len(parts)]
                part.append(f'{{"op":"force-open","breaker":"{name}","reason":"storm"}}\n'.encode())
                part.append(f'{{"op":"release","breaker":"{name}"}}\n'.encode())
            started = time.time()
            assert pipeline_parts(d.port, parts, auth=True) == 0
            time.sleep(1.5)  # a summary or two, and the writer's commits, settle
            rss.append(d.rss_kib())
            print(f"\nround {r + 1}: {2 * PAIRS_PER_ROUND} transitions in {time.time() - started:.1f} s, RSS {rss[-1]} KiB")
        growth = rss[-1] - rss[1]
        print(f"RSS before {rss[0]} KiB, after round 1 {rss[1]} KiB, after round {ROUNDS} {rss[-1]} KiB "
              f"(growth after round 1: {growth} KiB for {2 * PAIRS_PER_ROUND * (ROUNDS - 1)} more transitions)")
        assert growth < MAX_GROWTH_AFTER_FIRST_ROUND_KIB, rss
        # The stream still works: reading it now finds the resync the dropped events caused.
        stuck.settimeout(10)
        data = b""
        deadline = time.time() + 15
        while b"event: resync" not in data and time.time() < deadline:
            chunk = stuck.recv(65536)
            assert chunk, "the daemon closed the stream"
            data = data[-64:] + chunk
        assert b"event: resync" in data
        stuck.close()
    finally:
        d.stop()
