"""`gptapi gateway` as operators run it: its own process, configured by the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from gptapi.inference.launcher import free_port
from tests.support.platform import Account
from tests.support.threads import wait_until

GPTAPI = str(Path(sys.executable).parent / "gptapi")


def status_of(url: str) -> int | None:
    """The status a GET gets, or None when nothing answers."""
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.TransportError:
        return None


class Gateway:
    """`gptapi gateway` in its own process, routing `model` to the llama-server at
    `upstream`; its output (stdout and stderr) goes to `log`."""

    def __init__(
        self,
        database_url: str,
        tmp: Path,
        upstream: str,
        model: str,
        *args: str,
        **env: str,
    ) -> None:
        self.model = model
        fleet = tmp / "fleet.toml"
        fleet.write_text(f'[pools.{model}]\nservers = ["{upstream}"]\n')
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "gateway.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [GPTAPI, "gateway", *args],
                cwd=tmp,
                env={
                    **os.environ,
                    "DATABASE_URL": database_url,
                    "FLEET_CONFIG": str(fleet),
                    "PORT": str(self.port),
                    "ENVIRONMENT": "test",
                    "DATA_DIR": str(tmp / "var"),
                    "HEALTH_INTERVAL_SECONDS": "0.5",
                    **env,
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: self._ready(), timeout=60)

    def _ready(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        return status_of(self.url + "/readyz") == 200

    def chat(
        self, account: Account, headers: dict[str, str] | None = None, **fields: object
    ) -> httpx.Response:
        return httpx.post(
            self.url + "/v1/chat/completions",
            headers={"authorization": f"Bearer {account.secret}", **(headers or {})},
            json={"model": self.model, "messages": [{"role": "user", "content": "Hi"}], **fields},
            timeout=60,
        )

    def children(self) -> list[int]:
        """The process ids of its gateway processes (with --workers)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def signal(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self) -> int:
        return self.process.wait(timeout=60)
