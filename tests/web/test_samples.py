"""Every code sample the console shows runs as copied: read from the rendered Docs page,
landing page and dashboard Overview (what a person copies), then run against this platform
with real llama.cpp: Python with this venv's interpreter and the openai SDK, JavaScript with
node and the `openai` package from web/node_modules, curl with curl."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

from gptapi.inference.launcher import audio_available
from tests.support.console import sign_in
from tests.support.platform import Platform
from tests.web.conftest import grant

WEB = Path(__file__).resolve().parents[2] / "web"
# Inside web/node_modules, so node resolves `openai` from the console's dev dependencies.
SCRATCH = WEB / "node_modules" / ".samples"
RUN_SECONDS = 120
PARALLEL = 1  # one at a time: the machine running the suite has few cores


def samples_in(page: Page, blocks: Locator) -> dict[str, str]:
    """{language: code} of every code-tab block in `blocks`, as shown on the page."""
    found: dict[str, str] = {}
    for index in range(blocks.count()):
        block = blocks.nth(index)
        tabs = block.get_by_role("tab")
        for tab_index in range(tabs.count()):
            tab = tabs.nth(tab_index)
            tab.click()
            shown = block.locator("[role=tabpanel]:not([hidden]) [data-testid=code-sample]")
            code = shown.inner_text()
            found[f"{tab.inner_text()}\n{code}"] = code
    return found


def _collect(page: Page, site: Platform) -> dict[str, str]:
    blocks = "[data-slot=tabs]:has(> [aria-label=Language])"
    shown: dict[str, str] = {}
    for path in ("/docs", "/", "/dashboard/overview"):
        page.goto(path)
        page.get_by_test_id("code-sample").first.wait_for()
        shown |= samples_in(page, page.locator(blocks))
    return shown


def _start(site: Platform, language: str, code: str, key: str, index: int) -> subprocess.Popen[str]:
    # The samples name the platform's public address; this test platform listens elsewhere.
    code = code.replace(site.settings.base_url, site.url)
    # A deployment's samples read its sk_dep_ key from DEPLOYMENT_KEY, the others GPTAPI_KEY.
    env = {
        **os.environ,
        "GPTAPI_KEY": key,
        "DEPLOYMENT_KEY": key,
        "GPTAPI_WEBHOOK_SECRET": "whsec_" + "A" * 32,
    }
    if language == "Python":
        command = [sys.executable, "-c", code]
    elif language == "JavaScript":
        SCRATCH.mkdir(parents=True, exist_ok=True)
        script = SCRATCH / f"sample-{index}.mjs"
        script.write_text(code)
        command = ["node", str(script)]
    else:
        command = ["bash", "-euo", "pipefail", "-c", code]
    # Where the samples write their files (the audio sample's speech.wav).
    SCRATCH.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        command, env=env, cwd=SCRATCH, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_all(site: Platform, samples: dict[str, str], key: str, first: int = 0) -> list[str]:
    """Run every sample, a few at a time (the model serves several at once); the failures."""
    failures = []
    items = sorted(samples.items())
    for start in range(0, len(items), PARALLEL):
        batch = items[start : start + PARALLEL]
        running = [
            (label, _start(site, label.split("\n", 1)[0], code, key, first + start + offset))
            for offset, (label, code) in enumerate(batch)
        ]
        for label, process in running:
            _, stderr = process.communicate(timeout=RUN_SECONDS)
            if process.returncode != 0:
                failures.append(f"{label}\n--- exit {process.returncode}\n{stderr[-2000:]}")
    return failures


@pytest.mark.skipif(shutil.which("node") is None, reason="node is part of the console build")
@pytest.mark.timeout(900)
def test_every_sample_runs_as_copied(page: Page, site: Platform) -> None:
    member = sign_in(site)
    cookies = member.client.http.cookies
    page.context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    grant(site, member.org_id, "5")
    created = member.client.post(f"/api/orgs/{member.org_id}/keys", json={"name": "samples"})
    key = created.json()["secret"]
    assert key.startswith("gpt_live_")

    samples = _collect(page, site)
    languages = {label.split("\n", 1)[0] for label in samples}
    assert languages == {"curl", "Python", "JavaScript"}
    assert len(samples) >= 20, sorted(samples)
    for label, code in samples.items():
        assert "sk-" not in code, label
    failures = run_all(site, samples, key)
    assert failures == [], "\n\n".join(failures)
    # The calls reached the model and were billed to the key.
    log = member.client.get(f"/api/orgs/{member.org_id}/usage/requests?limit=200").json()
    endpoints = {row["endpoint"] for row in log["data"] if row["key"]["name"] == "samples"}
    assert {"chat.completions", "completions", "embeddings"} <= endpoints
    if audio_available() == ["speech", "transcription"]:
        assert {"audio.speech", "audio.transcriptions"} <= endpoints
    member.client.close()


def test_view_code_in_the_playground_is_the_call_it_made(page: Page, site: Platform) -> None:
    member = sign_in(site)
    cookies = member.client.http.cookies
    page.context.add_cookies([{"name": n, "value": v, "url": site.url} for n, v in cookies.items()])
    grant(site, member.org_id, "5")
    key = member.client.post(f"/api/orgs/{member.org_id}/keys", json={"name": "copied"}).json()
    page.goto("/playground")
    page.get_by_label("System prompt").fill("Answer in one word.")
    page.get_by_label("Max tokens").fill("8")
    page.get_by_label("Message", exact=True).fill(f"Say hi {uuid.uuid4().hex[:4]}")
    page.get_by_role("button", name="Send").click()
    page.get_by_test_id("turn-meter").wait_for(timeout=RUN_SECONDS * 1000)
    page.get_by_role("button", name="View code").click()
    shown = samples_in(page, page.get_by_role("region", name="The last request as code"))
    assert len(shown) == 3
    for label, code in shown.items():
        assert '"Answer in one word."' in code, label
    assert run_all(site, shown, key["secret"], first=100) == []
    member.client.close()
