"""Local servers for the embedded default: llama.cpp for chat and for embeddings, a speech
server when eSpeak NG is installed (`gptapi.inference.speech`) and a transcription server
when PocketSphinx is (`gptapi.inference.transcription`).

`supervise` keeps them running: a child that exits (a crash, an out-of-memory kill, a
kill -9) is started again on the same port, after a delay that doubles with each exit in a
row (so a child that cannot start does not spin) and goes back to the first delay once a
child has stayed up for a while. The gateway's health checks see the server go and come
back as they would for any upstream.
"""

from __future__ import annotations

import asyncio
import importlib.util
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
    # An audio server's module under gptapi.inference ("speech", "transcription"); "" for
    # llama.cpp.
    audio: str = ""
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


def spawn_audio_child(
    audio: str, *, port: int, aliases: tuple[str, ...], log_path: Path, parallel: int
) -> subprocess.Popen[bytes]:
    """An audio server child (`gptapi.inference.<audio>`); it dies with this process."""
    command = [
        sys.executable,
        "-m",
        f"gptapi.inference.{audio}",
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


# The audio models of the embedded default, named as OpenAI's so its clients work as they
# are, and their prices (nano-dollars per unit): what OpenAI charges for tts-1 ($15 per 1M
# characters) and whisper-1 ($0.006 a minute).
AUDIO_MODELS = {
    "speech": ("tts-1", 15_000, "Text to speech (eSpeak NG on this machine)"),
    "transcription": ("whisper-1", 100_000, "Speech to text (PocketSphinx on this machine)"),
}


def audio_available() -> list[str]:
    """The audio servers this machine can run."""
    found = []
    if shutil.which(ESPEAK) is not None:
        found.append("speech")
    try:
        if importlib.util.find_spec("pocketsphinx") is not None:
            found.append("transcription")
    except ValueError:  # a None entry in sys.modules: the import is blocked
        pass
    return found


class LocalFleet:
    """`gpt-fast` and `gpt-full` share one server (the same small model stands in for both);
    `embed` runs on its own with embeddings on and mean pooling; `tts-1` is eSpeak NG's and
    `whisper-1` PocketSphinx's, when they are installed (`audio`: which to run, None for
    every one that is)."""

    def __init__(
        self,
        log_dir: Path,
        *,
        parallel: int,
        ctx_per_slot: int,
        threads: int = 0,
        audio: list[str] | None = None,
    ) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.parallel = parallel
        self.ctx_per_slot = ctx_per_slot
        self.threads = threads
        self.servers = [
            LocalServer(("gpt-fast", "gpt-full"), free_port(), False, log_dir / "llama-chat.log"),
            LocalServer(("embed",), free_port(), True, log_dir / "llama-embed.log"),
        ]
        for kind in audio_available() if audio is None else audio:
            name = AUDIO_MODELS[kind][0]
            self.servers.append(
                LocalServer((name,), free_port(), False, log_dir / f"{kind}.log", kind)
            )

    def start(self) -> None:
        for server in self.servers:
            self._launch(server)

    @property
    def audio_models(self) -> list[str]:
        """The kinds of audio models this fleet runs."""
        return [server.audio for server in self.servers if server.audio]

    def _launch(self, server: LocalServer) -> None:
        if server.audio:
            server.process = spawn_audio_child(
                server.audio,
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
