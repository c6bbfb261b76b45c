"""A Redis and a PostgreSQL cluster of a test's own, on free ports, that the test may stop,
kill and start again (the machine's shared servers must never be touched that way)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from gptapi.inference.launcher import free_port
from tests.support.threads import wait_until


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class PrivateRedis:
    """`redis-server` with nothing persisted: a restart starts it empty."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), *options, "--dir", str(self.home)],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: _answers(self.port), timeout=30)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
            self.process = None


class PrivatePostgres:
    """A cluster made by `initdb` in a directory of its own, run by `pg_ctl` (as the
    postgres user when the tests run as root, which PostgreSQL refuses to run as)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="gptapi-pg-"))
        self.data = self.home / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(
            [*self._as, *command], check=True, capture_output=True, cwd=self.home, timeout=120
        )

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.home / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", action, *extra)

    def start(self) -> PrivatePostgres:
        self._ctl("start")
        return self

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def close(self) -> None:
        self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.home, ignore_errors=True)
