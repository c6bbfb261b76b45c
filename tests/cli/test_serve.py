"""`gptapi serve` as a newcomer runs it: nothing configured, real llama.cpp servers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gptapi.inference.launcher import audio_available, free_port
from tests.support.threads import wait_until

GPTAPI = str(Path(sys.executable).parent / "gptapi")


def _children(pid: int) -> list[int]:
    result = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in result.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


class Served:
    def __init__(self, cwd: Path, **settings: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "FLEET_CONFIG"}}
        env.update(settings, PORT=str(self.port))
        self.process = subprocess.Popen(
            [GPTAPI, "serve"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for(self, needle: str, timeout: float = 180) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError("gptapi serve exited:\n" + "".join(self.lines))
            self.lines.append(line)
            if needle in line:
                return
        raise AssertionError(f"{needle!r} not printed in time:\n" + "".join(self.lines))

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def interrupt(self) -> None:
        """Ctrl-C: a clean shutdown, exiting as an interrupted program does."""
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(60) in (0, 128 + signal.SIGINT)
        assert self.process.stdout is not None
        rest = self.process.stdout.read()
        self.lines.append(rest)
        assert "Traceback" not in rest and "stopping local llama.cpp servers" in rest


def test_first_run_prints_a_working_key_and_ctrl_c_leaves_no_orphans(tmp_path: Path) -> None:
    served = Served(tmp_path)
    try:
        served.wait_for("Application startup complete")
        children = _children(served.process.pid)
        # The chat and the embeddings llama.cpp servers, and the audio servers this machine
        # has the engines of.
        assert len(children) == 2 + len(audio_available())

        match = re.search(r"^curl .*?(?=\n\n)", served.text, flags=re.MULTILINE | re.DOTALL)
        assert match, served.text
        curl = subprocess.run(
            ["bash", "-c", match.group(0) + " --silent --show-error"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert '"chat.completion"' in curl.stdout, curl.stdout + curl.stderr
        assert (tmp_path / "var" / "gptapi.db").exists()
        assert "gpt_live_" in (tmp_path / "var" / "first-run.txt").read_text()
    finally:
        served.interrupt()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children), "llama.cpp servers outlived gptapi serve"

    again = Served(tmp_path)
    try:
        again.wait_for("Application startup complete")
        assert "gpt_live_" not in again.text  # the key is shown only on the first run
        key = re.search(r"gpt_live_\S+", (tmp_path / "var" / "first-run.txt").read_text())
        assert key
        response = httpx.post(
            f"http://127.0.0.1:{again.port}/v1/embeddings",
            headers={"Authorization": f"Bearer {key.group(0)}"},
            json={"model": "embed", "input": "still works"},
            timeout=30,
        )
        assert response.status_code == 200
        if audio_available() == ["speech", "transcription"]:
            headers = {"Authorization": f"Bearer {key.group(0)}"}
            text = "One two three four five."
            spoken = httpx.post(
                f"http://127.0.0.1:{again.port}/v1/audio/speech",
                headers=headers,
                json={"model": "tts-1", "voice": "alloy", "input": text, "response_format": "wav"},
                timeout=30,
            )
            assert spoken.status_code == 200, spoken.text
            assert spoken.headers["x-request-cost-nanos"] == str(len(text) * 15_000)
            heard = httpx.post(
                f"http://127.0.0.1:{again.port}/v1/audio/transcriptions",
                headers=headers,
                data={"model": "whisper-1"},
                files={"file": ("count.wav", spoken.content, "audio/wav")},
                timeout=60,
            )
            assert heard.status_code == 200, heard.text
            assert heard.json()["text"] == "one two three four five"
    finally:
        again.interrupt()


def test_killed_parent_takes_llama_servers_down(tmp_path: Path) -> None:
    served = Served(tmp_path)
    served.wait_for("Application startup complete")
    children = _children(served.process.pid)
    assert children
    served.process.kill()  # no chance to clean up: the children must notice by themselves
    served.process.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)


def _chat_server(parent: int) -> int:
    """The pid of the chat llama.cpp server among `parent`'s children."""
    for pid in _children(parent):
        if b"gpt-fast" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError("no chat server running")


def test_a_killed_llama_server_is_restarted_and_health_says_when_models_are_down(
    tmp_path: Path,
) -> None:
    # A restart delay long enough for the health checks to see the server gone.
    served = Served(tmp_path, LOCAL_RESTART_DELAY_SECONDS="3", HEALTH_INTERVAL_SECONDS="0.2")
    try:
        served.wait_for("Application startup complete")
        base = f"http://127.0.0.1:{served.port}"
        key = re.search(r"gpt_live_\S+", (tmp_path / "var" / "first-run.txt").read_text())
        assert key
        headers = {"Authorization": f"Bearer {key.group(0)}"}
        body = {
            "model": "gpt-fast",
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 4,
        }
        assert httpx.get(base + "/healthz").json() == {"status": "ok"}

        killed = _chat_server(served.process.pid)
        os.kill(killed, signal.SIGKILL)
        states: list[httpx.Response] = []

        def health_is(status: int) -> bool:
            states.append(httpx.get(base + "/healthz", timeout=5))
            return states[-1].status_code == status

        wait_until(lambda: health_is(503), timeout=30)
        assert states[-1].json() == {
            "status": "unavailable",
            "unservable_models": ["gpt-fast", "gpt-full"],
        }
        wait_until(lambda: health_is(200), timeout=120, interval=0.2)
        assert _chat_server(served.process.pid) != killed
        assert len(_children(served.process.pid)) == 2 + len(audio_available())
        reply = httpx.post(base + "/v1/chat/completions", headers=headers, json=body, timeout=60)
        assert reply.status_code == 200, reply.text
        assert reply.json()["usage"]["completion_tokens"] > 0
    finally:
        served.interrupt()
    assert "local server for gpt-fast,gpt-full exited (-9); restarting in 3.0s" in served.text
