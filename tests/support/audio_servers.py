"""The embedded default's real audio servers (eSpeak NG speech, PocketSphinx transcription)
as child processes of the tests, as `gptapi serve` runs them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gptapi.inference.launcher import free_port, spawn_audio_child
from tests.support.threads import wait_until


@contextmanager
def audio_server(kind: str, logs: Path, alias: str) -> Iterator[str]:
    """A running `gptapi.inference.<kind>` server for the model `alias`; its base URL."""
    port = free_port()
    process = spawn_audio_child(
        kind, port=port, aliases=(alias,), log_path=logs / f"{kind}.log", parallel=2
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, (logs / f"{kind}.log").read_text()
        try:
            return httpx.get(url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=60)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
