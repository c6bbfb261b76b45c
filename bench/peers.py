"""Optional peers: other gateways in front of the same nginx upstream, measured in the same
run as ours. Each is installed on first use into a cache outside the repo (Portkey from npm,
LiteLLM from PyPI into its own virtualenv, never the project's), and a peer that cannot be
installed or started is reported as skipped instead of failing the bench.

Peers run as plain proxies: neither has our keys, limits, holds or metering switched on
(Portkey's open-source gateway has none of them; LiteLLM's need its database), so they do
less work per request than the gateway under test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.payloads import MODEL
from bench.procs import Managed, free_port, python_env, wait_ready
from bench.progress import step

PORTKEY = "portkey"
LITELLM = "litellm"
# Pinned, so a run compares against a known release.
PORTKEY_PACKAGE = "@portkey-ai/gateway@1.15.2"
LITELLM_REQUIREMENT = "litellm[proxy]"
PEER_KEY = "sk-bench-peer"  # the key peers send upstream; nginx ignores it


class NotInstallable(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Peer:
    """A started peer; `ready_url` answers 200 once it serves."""

    name: str
    process: Managed
    url: str  # the chat completions URL
    headers: dict[str, str]
    version: str
    ready_url: str


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gptapi-bench"


def _portkey_entry() -> Path:
    name, _, version = PORTKEY_PACKAGE.rpartition("@")
    return cache_dir() / f"portkey-{version}" / "node_modules" / name / "build/start-server.js"


def install_portkey(allowed: bool) -> str:
    entry = _portkey_entry()
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise NotInstallable("node and npm are needed")
    if not entry.exists():
        if not allowed:
            raise NotInstallable(f"not installed (npm install {PORTKEY_PACKAGE})")
        prefix = entry.parents[4]  # the portkey-<version> directory
        step(f"installing {PORTKEY_PACKAGE} from npm into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", PORTKEY_PACKAGE],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not entry.exists():
            raise NotInstallable(f"npm install failed: {result.stderr.strip()[-300:]}")
    return node


def start_portkey(work: Path, upstream: str, allow_install: bool) -> Peer:
    node = install_portkey(allow_install)
    port = free_port()
    process = Managed(
        "portkey",
        [node, str(_portkey_entry()), f"--port={port}", "--headless"],
        work / "portkey.log",
        env={**os.environ, "NODE_ENV": "production"},
    )
    base = f"http://127.0.0.1:{port}"
    headers = {
        "Authorization": f"Bearer {PEER_KEY}",
        "Content-Type": "application/json",
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": upstream + "/v1",
    }
    url = base + "/v1/chat/completions"
    return Peer(PORTKEY, process, url, headers, PORTKEY_PACKAGE, base + "/")


def _litellm_venv() -> Path:
    return cache_dir() / "litellm-venv"


def install_litellm(allowed: bool) -> Path:
    venv = _litellm_venv()
    binary = venv / "bin" / "litellm"
    if binary.exists():
        return binary
    if not allowed:
        raise NotInstallable(f"not installed (pip install '{LITELLM_REQUIREMENT}' in a venv)")
    step(f"installing {LITELLM_REQUIREMENT} from PyPI into its own venv at {venv}")
    commands = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "pip"), "install", "--quiet", LITELLM_REQUIREMENT],
    ]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise NotInstallable(f"{' '.join(command[:3])} failed: {result.stderr.strip()[-300:]}")
    if not binary.exists():
        raise NotInstallable("installed, but no litellm command")
    return binary


def start_litellm(work: Path, upstream: str, allow_install: bool) -> Peer:
    binary = install_litellm(allow_install)
    master_key = "sk-" + secrets.token_hex(32)  # it refuses to start without a strong one
    config = work / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {upstream}/v1\n"
        f"      api_key: {PEER_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "general_settings:\n"
        f"  master_key: {master_key}\n"
    )
    port = free_port()
    env = {k: v for k, v in python_env().items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    process = Managed(
        "litellm",
        [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        work / "litellm.log",
        env=env | {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"},
        cwd=work,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {master_key}", "Content-Type": "application/json"}
    version = subprocess.run(
        [
            str(binary.parent / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    url = base + "/v1/chat/completions"
    return Peer(LITELLM, process, url, headers, f"litellm {version}", base + "/health/liveliness")


STARTERS: dict[str, Callable[[Path, str, bool], Peer]] = {
    PORTKEY: start_portkey,
    LITELLM: start_litellm,
}


def start_peers(
    names: list[str], work: Path, upstream: str, *, allow_install: bool
) -> tuple[list[Peer], dict[str, str]]:
    """Install and start the peers without waiting for them (they load while the rest of the
    bench starts): those started, and why each other one was skipped."""
    started: list[Peer] = []
    skipped: dict[str, str] = {}
    for name in names:
        try:
            started.append(STARTERS[name](work, upstream, allow_install))
        except (NotInstallable, OSError) as exc:
            _skip(skipped, name, exc)
    return started, skipped


def wait_peers(started: list[Peer], skipped: dict[str, str]) -> list[Peer]:
    """The peers that became ready; the others are stopped and added to `skipped`."""
    ready: list[Peer] = []
    for peer in started:
        try:
            wait_ready(peer.ready_url, peer.process, timeout=120)
        except (RuntimeError, OSError) as exc:  # exited, or never answered (TimeoutError)
            _skip(skipped, peer.name, exc)
            continue
        step(f"{peer.name} ready at {peer.url} ({peer.version})")
        ready.append(peer)
    return ready


def _skip(skipped: dict[str, str], name: str, exc: Exception) -> None:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    kind = "not installable" if isinstance(exc, NotInstallable) else "did not start"
    skipped[name] = f"{kind}: {reason}"
    step(f"{name}: skipped ({skipped[name]})")
