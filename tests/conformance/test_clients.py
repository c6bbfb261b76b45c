"""The conformance suite: the clients and frameworks people build on, used as an
application would use them, against the platform over real llama.cpp.

- `node/clients.mjs`: openai-node and the Vercel AI SDK (`openai()` over the Responses API,
  `openai.chat()` over chat completions), for text, speech, transcription and images, and
  openai-node's generic `post` for rerank, which neither openai-node nor `@ai-sdk/openai`
  has a method for. The AI SDK is held at major 6: major 7 needs Node 22 and this
  platform's machines run Node 20.
- `python/frameworks.py`: LangChain and LlamaIndex, in an environment of their own
  (`.venv-conformance`, from `python/requirements.txt`): LlamaIndex holds openai below 3.
  openai-python itself is driven throughout tests/gateway.

The platform is the module's own: the chat and embedding models on the session's llama.cpp
servers, `tts-1` and `whisper-1` on the real local speech and transcription servers, and the
image and rerank models on doubles of their outside servers (stable-diffusion.cpp's
sd-server, a llama-server started with `--reranking`).

Each scenario runs in its own process and fails on anything the client would not accept."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gptapi.gateway.upstream.registry import ServerSpec
from gptapi.inference.launcher import LocalFleet
from tests.support.audio_servers import local_audio
from tests.support.databases import fresh_database
from tests.support.fake_reranker import FakeReranker
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.sd_server_double import SdServerDouble

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE_SCENARIOS = re.findall(
    r'^  async "([a-z-]+)"\(\)', (HERE / "node/clients.mjs").read_text(), re.M
)
PYTHON_SCENARIOS = [
    name.replace("_", "-")
    for name in re.findall(
        r"^@scenario\ndef (\w+)\(", (HERE / "python/frameworks.py").read_text(), re.M
    )
]
CONFORMANCE_PYTHON = ROOT / ".venv-conformance" / "bin" / "python"
# One backend: the wire format does not depend on the database.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
# node/clients.mjs names these models too.
IMAGE_MODEL = "sd-image"
RERANK_MODEL = "rerank"


@pytest.fixture(scope="module")
def platform(
    backend: str, llama_fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    tmp: Path = tmp_path_factory.mktemp(f"conformance-{backend}")
    images = SdServerDouble().start()
    reranker = FakeReranker().start()
    try:
        with fresh_database(backend, tmp) as url:
            platform = Platform(settings_for(url, tmp))
            platform.add_model(
                IMAGE_MODEL, kind="image", input_price=0, output_price=0, nanos_per_image=20_000_000
            )
            platform.add_model(RERANK_MODEL, kind="rerank", input_price=20, output_price=0)
            platform.set_servers("local", llama_fleet.specs())
            with local_audio(platform, tmp, per_character=15_000, per_second=100_000) as audio:
                platform.set_servers(
                    "media",
                    [
                        *audio,
                        ServerSpec(model=IMAGE_MODEL, base_url=images.url),
                        ServerSpec(model=RERANK_MODEL, base_url=reranker.url),
                    ],
                )
                with platform.serving(timeout=30):
                    yield platform
    finally:
        images.stop()
        reranker.stop()


def _run(platform: Platform, command: list[str], cwd: Path) -> None:
    account = platform.account("5")
    env = {**os.environ, "GPTAPI_BASE_URL": platform.url + "/v1", "GPTAPI_KEY": account.secret}
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("scenario", NODE_SCENARIOS)
def test_node_clients(platform: Platform, scenario: str) -> None:
    _run(platform, ["node", "clients.mjs", scenario], HERE / "node")


@pytest.mark.parametrize("scenario", PYTHON_SCENARIOS)
def test_python_frameworks(platform: Platform, scenario: str) -> None:
    assert CONFORMANCE_PYTHON.exists(), "the frameworks' environment is made by `make test`"
    _run(platform, [str(CONFORMANCE_PYTHON), "frameworks.py", scenario], HERE / "python")
