"""Local llama.cpp servers for the embedded default: one for chat, one for embeddings."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from gptapi.gateway.upstream.registry import ServerSpec

log = logging.getLogger(__name__)


@dataclass
class LocalServer:
    models: tuple[str, ...]
    port: int
    embedding: bool
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalFleet:
    """`gpt-fast` and `gpt-full` share one server (the same small model stands in for both);
    `embed` runs on its own with embeddings on and mean pooling."""

    def __init__(
        self, log_dir: Path, *, parallel: int, ctx_per_slot: int, threads: int = 0
    ) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.parallel = parallel
        self.ctx_per_slot = ctx_per_slot
        self.threads = threads
        self.servers = [
            LocalServer(("gpt-fast", "gpt-full"), free_port(), False, log_dir / "llama-chat.log"),
            LocalServer(("embed",), free_port(), True, log_dir / "llama-embed.log"),
        ]

    def start(self) -> None:
        for server in self.servers:
            command = [
                sys.executable,
                "-m",
                "gptapi.inference.child",
                "--port",
                str(server.port),
                "--alias",
                ",".join(server.models),
                "--parallel",
                str(self.parallel),
                "--ctx-per-slot",
                str(self.ctx_per_slot),
                "--threads",
                str(self.threads),
                "--parent",
                str(os.getpid()),
            ]
            if server.embedding:
                command.append("--embedding")
            with server.log_path.open("ab") as log_file:
                server.process = subprocess.Popen(
                    command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )

    async def wait_ready(
        self, timeout: float = 120.0, progress: Callable[[str], None] | None = None
    ) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            for server in self.servers:
                while True:
                    if server.process is not None and server.process.poll() is not None:
                        raise RuntimeError(
                            f"llama.cpp server for {','.join(server.models)} exited "
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
                        f"llama.cpp server for {', '.join(server.models)} ready at "
                        f"{server.base_url}"
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
