"""The embedded default's real audio servers (eSpeak NG speech, PocketSphinx transcription)
as child processes of the tests, as `gptapi serve` runs them."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.inference.launcher import free_port, spawn_audio_child
from tests.support.platform import Platform
from tests.support.threads import wait_until

# What each engine the audio tests run is, and where it comes from: a missing one fails the
# tests that need it (they would otherwise pass by not running).
ENGINES = {
    "espeak-ng": "the Debian package `make pytest` installs (as root)",
    "lame": "the Debian package `make pytest` installs (as root)",
    "pocketsphinx": "the Python package of the `local` extra (`make .venv/.installed`)",
}


def _installed(engine: str) -> bool:
    if engine == "pocketsphinx":
        return importlib.util.find_spec(engine) is not None
    return shutil.which(engine) is not None


def require(*engines: str) -> None:
    """Fail the test, with what to install, unless every engine in `engines` is here."""
    missing = [engine for engine in engines if not _installed(engine)]
    if missing:
        pytest.fail(
            "; ".join(f"{engine} is missing: {ENGINES[engine]}" for engine in missing),
            pytrace=False,
        )


@contextmanager
def audio_server(kind: str, logs: Path, alias: str) -> Iterator[str]:
    """A running `gptapi.inference.<kind>` server for the model `alias`; its base URL."""
    require("espeak-ng" if kind == "speech" else "pocketsphinx")
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


@contextmanager
def local_audio(
    platform: Platform, logs: Path, *, per_character: int, per_second: int
) -> Iterator[list[ServerSpec]]:
    """`tts-1` and `whisper-1` added to `platform` at these prices, on real servers started
    for it; their specs, for `platform.set_servers`."""
    platform.add_model("tts-1", kind="speech", input_price=per_character, output_price=0)
    platform.add_model("whisper-1", kind="transcription", input_price=per_second, output_price=0)
    with (
        audio_server("speech", logs, "tts-1") as spoken,
        audio_server("transcription", logs, "whisper-1") as heard,
    ):
        yield [
            ServerSpec(model="tts-1", base_url=spoken),
            ServerSpec(model="whisper-1", base_url=heard),
        ]
