"""A real breakerd for the browser tests: started on free ports with a temp data dir and an
admin token file, spoken to over its line protocol (newline-delimited JSON over TCP)."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

ADMIN_NAME = "alice"
ADMIN_TOKEN = "alice-token-0123456789abcdef"


class Daemon:
    def __init__(self, binary, tokens=True, extra_args=(), data_dir=None):
        """`data_dir`: a directory to keep the database in (and not delete at `stop`), so a
        second daemon can be started on it; by default a temp dir removed at `stop`."""
        self.keep = data_dir is not None
        self.dir = data_dir or tempfile.mkdtemp(prefix="breakerd-ui-")
        args = [binary, "--port", "0", "--http-port", "0", "--db", os.path.join(self.dir, "breakerd.sqlite3"),
                "--log-level", "warning", *extra_args]
        if tokens:
            path = os.path.join(self.dir, "admin.tokens")
            with open(path, "w") as f:
                f.write(f"{ADMIN_NAME}:{ADMIN_TOKEN}\n")
            os.chmod(path, 0o600)
            args += ["--admin-token-file", path]
        self.log = open(os.path.join(self.dir, "breakerd.log"), "w+")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.http_port = self.port = None
        deadline = time.time() + 30
        while (self.http_port is None or self.port is None) and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.match(r"breakerd http on .*:(\d+)", line)
            if m:
                self.http_port = int(m.group(1))
            m = re.match(r"breakerd listening on .*:(\d+)", line)
            if m:
                self.port = int(m.group(1))
        if self.port is None or self.http_port is None:
            self.proc.kill()
            self.proc.wait()
            log = self.log_text()
            self.stop()
            raise RuntimeError("breakerd did not start: " + log)
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}/"

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def client(self, auth=False):
        c = Client(self.port)
        if auth:
            reply = c.request({"op": "auth", "token": ADMIN_TOKEN})
            assert reply.get("ok"), reply
        return c

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """One protocol connection: request/reply, or pipelined batches."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def request(self, obj):
        self.sock.sendall((json.dumps(obj) + "\n").encode())
        return self.read()

    def read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise RuntimeError("daemon closed the connection")
            reply = json.loads(line)
            if "event" not in reply:
                return reply

    def pipeline(self, lines, batch=1000):
        """Sends `lines` (bytes, one request each) in batches, reading every reply; returns the
        number of replies that were not ok."""
        failed = 0
        for i in range(0, len(lines), batch):
            chunk = lines[i:i + batch]
            self.sock.sendall(b"".join(chunk))
            for _ in chunk:
                if not self.read().get("ok"):
                    failed += 1
        return failed

    def close(self):
        self.file.close()
        self.sock.close()


def pipeline_parallel(port, lines, connections=4, auth=False):
    """Spreads `lines` over a few connections, each pipelining; returns the failures."""
    return pipeline_parts(port, [lines[i::connections] for i in range(connections)], auth=auth)


def pipeline_parts(port, parts, auth=False):
    """Pipelines each list of lines in `parts` on a connection of its own, all at once, in
    order within each; returns the replies that were not ok."""
    connections = len(parts)
    failures = [0] * connections

    def run(i):
        c = Client(port)
        if auth:
            c.request({"op": "auth", "token": ADMIN_TOKEN})
        failures[i] = c.pipeline(parts[i])
        c.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(failures)
