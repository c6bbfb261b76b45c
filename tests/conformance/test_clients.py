"""The conformance suite: the clients and frameworks people build on, used as an
application would use them, against the platform over real llama.cpp.

- `node/clients.mjs`: openai-node and the Vercel AI SDK (`openai()` over the Responses API,
  `openai.chat()` over chat completions). The AI SDK is held at major 6: major 7 needs
  Node 22 and this platform's machines run Node 20.
- `python/frameworks.py`: LangChain and LlamaIndex, in an environment of their own
  (`.venv-conformance`, from `python/requirements.txt`): LlamaIndex holds openai below 3.
  openai-python itself is driven throughout tests/gateway.

Each scenario runs in its own process and fails on anything the client would not accept."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.platform import Platform

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
