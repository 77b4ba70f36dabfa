"""A throwaway PostgreSQL cluster for the tests, made the way Tests/BreakerTestSupport/
PostgresCluster.swift makes it: Debian's binaries, ``initdb`` into a temp folder, ``pg_ctl`` on a
free loopback port with its socket in that folder, as the ``postgres`` user when we are root
(PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BASE = Path("/usr/lib/postgresql")


def installed_binaries() -> Path | None:
    """Where Debian put the newest installed PostgreSQL's binaries; None when there is none."""
    versions = sorted((int(p.name) for p in BASE.iterdir() if p.name.isdigit()), reverse=True) if BASE.is_dir() else []
    return next((BASE / str(v) / "bin" for v in versions if os.access(BASE / str(v) / "bin" / "pg_ctl", os.X_OK)), None)


def should_run() -> bool:
    """Outside CI the PostgreSQL tests skip without PostgreSQL; under CI (``CI=true``) they run and fail."""
    return installed_binaries() is not None or os.environ.get("CI") == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresCluster:
    """One server with ``trust`` authentication on 127.0.0.1; ``stop()`` ends it and removes it."""

    def __init__(self) -> None:
        binaries = installed_binaries()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed: these tests need Debian's postgresql package "
                               "(apt-get install -y postgresql; binaries in /usr/lib/postgresql/VERSION/bin)")
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="breakerd-py-pg-"))
        self.port = free_port()
        self.databases = 0
        if os.getuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        data = self.folder / "data"
        self._run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        # pg_ctl's server inherits its descriptors: its output goes to a file, never to a pipe
        # we would wait on.
        self._run(str(binaries / "pg_ctl"), "-D", str(data), "-l", f"{data}.log", "-w", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", "start")

    def _run(self, *command: str) -> str:
        argv = ["/usr/sbin/runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else list(command)
        with open(self.folder / "command.out", "w+b") as out:
            result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, check=False)
            out.seek(0)
            said = out.read().decode(errors="replace")
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {said}")
        return said

    def fresh_database(self) -> str:
        """A new, empty database; its URL for the trusted superuser."""
        self.databases += 1
        name = f"test_{os.getpid()}_{self.databases}"
        self._run(str(self.binaries / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                  "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-c", f"CREATE DATABASE {name}")
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(str(self.binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
