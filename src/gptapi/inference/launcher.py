"""Local servers for the embedded default: llama.cpp for chat and for embeddings, and,
when eSpeak NG is installed, a speech server (`gptapi.inference.speech`).

`supervise` keeps them running: a child that exits (a crash, an out-of-memory kill, a
kill -9) is started again on the same port, after a delay that doubles with each exit in a
row (so a child that cannot start does not spin) and goes back to the first delay once a
child has stayed up for a while. The gateway's health checks see the server go and come
back as they would for any upstream.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.inference.speech import ESPEAK

log = logging.getLogger(__name__)


@dataclass
class LocalServer:
    models: tuple[str, ...]
    port: int
    embedding: bool
    log_path: Path
    speech: bool = False  # the eSpeak speech server, not llama.cpp
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    exits_in_a_row: int = 0  # since it last stayed up `STABLE_SECONDS`
    restart_at: float | None = None  # when a child that exited is due to start again

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# A child that stays up this long has recovered: its next exit restarts after the first delay.
STABLE_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn_child(
    *,
    port: int,
    aliases: tuple[str, ...],
    log_path: Path,
    parallel: int,
    ctx_per_slot: int,
    threads: int = 0,
    embedding: bool = False,
) -> subprocess.Popen[bytes]:
    """One llama.cpp server child (`gptapi.inference.child`) on 127.0.0.1:`port`, its output
    appended to `log_path`; it dies with this process."""
    command = [
        sys.executable,
        "-m",
        "gptapi.inference.child",
        "--port",
        str(port),
        "--alias",
        ",".join(aliases),
        "--parallel",
        str(parallel),
        "--ctx-per-slot",
        str(ctx_per_slot),
        "--threads",
        str(threads),
        "--parent",
        str(os.getpid()),
    ]
    if embedding:
        command.append("--embedding")
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def spawn_speech_child(
    *, port: int, aliases: tuple[str, ...], log_path: Path, parallel: int
) -> subprocess.Popen[bytes]:
    """The speech server child (`gptapi.inference.speech`); it dies with this process."""
    command = [
        sys.executable,
        "-m",
        "gptapi.inference.speech",
        "--port",
        str(port),
        "--alias",
        ",".join(aliases),
        "--parallel",
        str(parallel),
        "--parent",
        str(os.getpid()),
    ]
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


# The speech model of the embedded default, and its price: what OpenAI charges for tts-1.
SPEECH_MODEL = "tts-1"
SPEECH_PRICE_PER_MILLION_CHARACTERS = 15_000  # milli-dollars = nano-dollars per character


def speech_available() -> bool:
    return shutil.which(ESPEAK) is not None


class LocalFleet:
    """`gpt-fast` and `gpt-full` share one server (the same small model stands in for both);
    `embed` runs on its own with embeddings on and mean pooling; `tts-1` is eSpeak NG's,
    when it is installed (`speech`: None to run it if it is)."""

    def __init__(
        self,
        log_dir: Path,
        *,
        parallel: int,
        ctx_per_slot: int,
        threads: int = 0,
        speech: bool | None = None,
    ) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.parallel = parallel
        self.ctx_per_slot = ctx_per_slot
        self.threads = threads
        self.servers = [
            LocalServer(("gpt-fast", "gpt-full"), free_port(), False, log_dir / "llama-chat.log"),
            LocalServer(("embed",), free_port(), True, log_dir / "llama-embed.log"),
        ]
        if speech_available() if speech is None else speech:
            self.servers.append(
                LocalServer((SPEECH_MODEL,), free_port(), False, log_dir / "speech.log", True)
            )

    def start(self) -> None:
        for server in self.servers:
            self._launch(server)

    @property
    def speech_models(self) -> list[str]:
        return [model for server in self.servers if server.speech for model in server.models]

    def _launch(self, server: LocalServer) -> None:
        if server.speech:
            server.process = spawn_speech_child(
                port=server.port,
                aliases=server.models,
                log_path=server.log_path,
                parallel=self.parallel,
            )
            server.started_at = time.monotonic()
            return
        server.process = spawn_child(
            port=server.port,
            aliases=server.models,
            log_path=server.log_path,
            parallel=self.parallel,
            ctx_per_slot=self.ctx_per_slot,
            threads=self.threads,
            embedding=server.embedding,
        )
        server.started_at = time.monotonic()

    async def supervise(
        self, *, first_delay: float, max_delay: float, poll_seconds: float = 0.5
    ) -> None:
        """Restart children that exit, until cancelled (cancel it before `stop`)."""
        while True:
            for server in self.servers:
                self._check(server, time.monotonic(), first_delay, max_delay)
            await asyncio.sleep(poll_seconds)

    def _check(self, server: LocalServer, now: float, first_delay: float, max_delay: float) -> None:
        process = server.process
        if process is None:
            return
        if process.poll() is None:
            if server.exits_in_a_row and now - server.started_at >= STABLE_SECONDS:
                server.exits_in_a_row = 0
            return
        names = ",".join(server.models)
        if server.restart_at is None:
            delay = min(first_delay * 2**server.exits_in_a_row, max_delay)
            server.exits_in_a_row += 1
            server.restart_at = now + delay
            log.warning(
                "local server for %s exited (%s); restarting in %.1fs (see %s)",
                names,
                process.returncode,
                delay,
                server.log_path,
            )
        elif now >= server.restart_at:
            server.restart_at = None
            self._launch(server)
            log.warning("local server for %s restarted on port %d", names, server.port)

    async def wait_ready(
        self, timeout: float = 120.0, progress: Callable[[str], None] | None = None
    ) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            for server in self.servers:
                while True:
                    if server.process is not None and server.process.poll() is not None:
                        raise RuntimeError(
                            f"local server for {','.join(server.models)} exited "
                            f"({server.process.returncode}); see {server.log_path}"
                        )
                    try:
                        async with session.get(
                            server.base_url + "/health", timeout=aiohttp.ClientTimeout(total=2)
                        ) as response:
                            if response.status == 200:
                                break
                    except (aiohttp.ClientError, TimeoutError, OSError):
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{server.base_url} not healthy after {timeout}s")
                    await asyncio.sleep(0.2)
                if progress:
                    progress(
                        f"local server for {', '.join(server.models)} ready at {server.base_url}"
                    )

    def specs(self) -> list[ServerSpec]:
        return [
            ServerSpec(model=model, base_url=server.base_url)
            for server in self.servers
            for model in server.models
        ]

    def stop(self, grace: float = 5.0) -> None:
        for server in self.servers:
            if server.process is not None and server.process.poll() is None:
                server.process.terminate()
        for server in self.servers:
            if server.process is None:
                continue
            try:
                server.process.wait(grace)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
