"""`gptapi gateway --workers N`: N gateway processes on one listening socket.

This process binds the port once and hands the socket to each child (`--listen-fd`), so
the kernel spreads connections over them and the port stays bound while a child restarts.
Each child is a whole gateway with its own usage writer (its own group commit); they share
rate limits, credit holds, spend caps, revocations and catalog changes through Redis, which
is why more than one needs REDIS_URL. Background workers (billing, webhooks, status, the
GPU cloud's supervisor) run in process 0 alone, so nothing runs twice. A child that dies is
started again; SIGTERM or SIGINT stops them all, each draining as a single gateway does.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
# A child that lived shorter than this is restarted after a growing delay.
STEADY_SECONDS = 10.0
MAX_RESTART_DELAY_SECONDS = 30.0
BACKLOG = 2048  # uvicorn's default


@dataclass
class Child:
    index: int
    process: subprocess.Popen[bytes]
    started: float
    delay: float = 1.0
    restart_at: float | None = None


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=BACKLOG)
    sock.set_inheritable(True)
    return sock


class Processes:
    def __init__(self, count: int, sock: socket.socket, extra_args: list[str]) -> None:
        self._count = count
        self._sock = sock
        self._extra = extra_args
        self._stopping = False
        self.children: list[Child] = []

    def _start(self, index: int) -> subprocess.Popen[bytes]:
        fd = self._sock.fileno()
        command = [sys.executable, "-m", "gptapi", "gateway", *self._extra]
        command += ["--listen-fd", str(fd), "--process-index", str(index)]
        return subprocess.Popen(command, pass_fds=[fd])

    def _stop(self, signum: int, _: FrameType | None) -> None:
        self._stopping = True
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        now = time.monotonic()
        self.children = [Child(i, self._start(i), now) for i in range(self._count)]
        while not self._stopping:
            time.sleep(POLL_SECONDS)
            for child in self.children:
                self._watch(child)
        for child in self.children:
            child.process.wait()
        self._sock.close()
        return 0

    def _watch(self, child: Child) -> None:
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at and not self._stopping:
                child.process, child.started, child.restart_at = self._start(child.index), now, None
            return
        code = child.process.poll()
        if code is None or self._stopping:
            return
        lived = now - child.started
        steady = lived > STEADY_SECONDS
        child.delay = 1.0 if steady else min(child.delay * 2, MAX_RESTART_DELAY_SECONDS)
        child.restart_at = now + child.delay
        log.error("gateway process %d exited (%s); restarting", child.index, code)
