"""Local inference is the optional `local` extra: without its wheel, asking for it stops with
a message that says what to install, before anything else happens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# The real CLI, in an interpreter where importing xllamacpp fails as it does when the extra
# is not installed (a None entry in sys.modules is Python's own way to block an import).
WITHOUT_WHEEL = (
    "import sys; sys.modules['xllamacpp'] = None; from gptapi.cli.main import app; app(['serve'])"
)


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "FLEET_CONFIG"}}
    # A port already taken: a serve that gets as far as listening stops there.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        return subprocess.run(
            [sys.executable, "-c", WITHOUT_WHEEL],
            cwd=tmp_path,
            env={**clean, "DATA_DIR": str(tmp_path / "var"), "PORT": port, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.mark.parametrize("mode", ["auto", "on"])
def test_serve_without_the_local_extra_says_what_to_install(tmp_path: Path, mode: str) -> None:
    result = _serve(tmp_path, LOCAL_INFERENCE=mode)
    assert result.returncode == 2, result.stderr
    assert "pip install 'gptapi[local]'" in result.stderr
    assert "FLEET_CONFIG" in result.stderr
    # It stopped before touching anything: no database was created.
    assert not (tmp_path / "var" / "gptapi.db").exists()


def test_serve_with_local_inference_off_does_not_need_the_extra(tmp_path: Path) -> None:
    # With LOCAL_INFERENCE=off it goes on: it migrates and gets as far as listening.
    result = _serve(tmp_path, LOCAL_INFERENCE="off")
    assert "gptapi[local]" not in result.stderr
    assert "address already in use" in result.stderr
    assert (tmp_path / "var" / "gptapi.db").exists()
