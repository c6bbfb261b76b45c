"""Child processes the bench starts: each logs to a file in the run's temp dir and is
stopped (TERM, then KILL) when the bench exits, however it exits."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the bench dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _terminate_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through every `finally`, stopping children


def exit_on_sigterm() -> None:
    """Make SIGTERM stop the children the bench started, as Ctrl-C does."""
    signal.signal(signal.SIGTERM, _terminate_on_signal)


class Managed:
    """A started child process; `stop()` is idempotent."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(
                f"{self.name} exited with {self.process.returncode}; log:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            self.process.send_signal(self.stop_signal)
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_http(
    url: str,
    managed: Managed,
    *,
    timeout: float = 60.0,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """Poll `url` until it answers 200; the body of that answer."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        managed.check_alive()
        request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                body: bytes = response.read()
                if response.status == 200:
                    return body
                last = f"status {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"status {exc.code}: {exc.read()[:300]!r}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{managed.name}: {url} not ready after {timeout:.0f}s ({last});"
                f" log:\n{managed.log_tail()}"
            )
        time.sleep(0.1)


def wait_ready(url: str, managed: Managed, *, timeout: float) -> None:
    """`wait_http` for a child that is not yet in the bench's list of children: stopped
    if it never answers (or the bench is interrupted meanwhile)."""
    try:
        wait_http(url, managed, timeout=timeout)
    except BaseException:
        managed.stop()
        raise


def wait_port(port: int, managed: Managed, *, timeout: float) -> None:
    """Poll until something accepts TCP connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while True:
        managed.check_alive()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def rss_bytes(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in bytes."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """`pid` and its direct children (nginx: the master and its workers)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        pids.extend(int(child) for child in children)
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLOCK_TICKS


def python_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env
