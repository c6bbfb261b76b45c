"""The deployment page follows a serverless deployment live: it deploys at zero with room to
scale out (the dialog prices each replica), shows no replica while idle and one once a request
wakes it, counts the requests in its metrics and hourly chart, and its log panel shows the lines
a request writes as they come, without a reload; then it ends the stream when it stops. The
page has no serious axe violation on a phone in the dark theme."""

from __future__ import annotations

import re
import shutil

import openai
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.console import Member
from tests.support.platform import Platform
from tests.support.threads import wait_until
from tests.web.browser import PHONE
from tests.web.conftest import grant
from tests.web.test_accessibility import axe_context, serious_violations

# The local provider starts a llama.cpp server; on a busy machine that takes a while.
START_TIMEOUT_MS = 120_000
HELLO = [{"role": "user", "content": "Hello!"}]
# llama-server writes this line as it finishes a request.
REQUEST_DONE = "stop processing"


def _answered(client: openai.OpenAI) -> bool:
    """One real request; False while the gateway has yet to see the woken deployment."""
    try:
        reply = client.chat.completions.create(model="live-bot", messages=HELLO, max_tokens=4)  # type: ignore[arg-type]
    except openai.APIStatusError:
        return False
    return reply.choices[0].message.content is not None


def _requests_logged(log: Locator) -> int:
    return log.inner_text().count(REQUEST_DONE)


def _at_bottom(log: Locator) -> bool:
    return bool(
        log.evaluate(
            "(e) => e.scrollHeight > e.clientHeight"
            " && e.scrollHeight - e.scrollTop - e.clientHeight < 2"
        )
    )


def _deploy_serverless(page: Page) -> str:
    page.goto("/gpu")
    page.get_by_label("Search models").fill("smol")
    page.get_by_role("button", name="Deploy SmolLM2 135M Instruct").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("live-bot")
    dialog.get_by_label("Mode").select_option("serverless")
    replicas = dialog.get_by_label("Maximum replicas")
    expect(replicas).to_have_attribute("max", "10")  # the server's limit
    replicas.fill("2")
    expect(dialog.get_by_text(re.compile(r"each at \$0\.05/hr while it runs"))).to_be_visible()
    expect(dialog.get_by_test_id("deploy-replicas")).to_contain_text(
        "At most $0.10/hr with all 2 running."
    )
    dialog.get_by_role("button", name="Deploy for $0.05/hr").click()
    expect(page).to_have_url(re.compile(r"/dashboard/deployments/dep_\w+$"))
    return page.url.rsplit("/", 1)[1]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is part of the console build")
@pytest.mark.timeout(900)
def test_a_serverless_deployment_scales_from_zero_live(
    page: Page, browser: Browser, site: Platform, owner: Member
) -> None:
    grant(site, owner.org_id, "5")
    deployment_id = _deploy_serverless(page)
    state = page.get_by_role("heading", name=re.compile("live-bot")).get_by_test_id(
        "deployment-state"
    )
    expect(state).to_have_text(re.compile("idle"))
    expect(page.get_by_test_id("deployment-stat-Replicas now")).to_have_text("0")
    expect(page.get_by_test_id("deployment-stat-Min / max")).to_have_text("0 / 2")
    expect(page.get_by_test_id("deployment-stat-Requests (24h)")).to_have_text("0")
    expect(page.get_by_test_id("deployment-stat-GPU utilisation")).to_have_text("Not reported")
    expect(page.get_by_test_id("deployment-stat-Uptime")).to_have_text("Not running")
    expect(page.get_by_test_id("deployment-request-table")).to_contain_text(
        "No requests in the last 24 hours."
    )
    bars = page.get_by_test_id("deployment-request-chart").locator("path.recharts-rectangle")
    expect(bars).to_have_count(0)  # a bar of height 0 draws nothing

    page.locator("#connection").get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("deployment-key-secret").inner_text()
    # The first request finds it at zero and wakes it (held until it is ready, as this
    # platform is configured); the page, left alone, watches it scale from zero to one.
    client = openai.OpenAI(
        base_url=f"{site.url}/v1", api_key=secret, max_retries=0, timeout=START_TIMEOUT_MS / 1000
    )
    assert _answered(client)
    expect(state).to_have_text(re.compile("ready"), timeout=START_TIMEOUT_MS)
    expect(page.get_by_test_id("deployment-stat-Replicas now")).to_have_text("1")
    expect(page.get_by_test_id("deployment-stat-Last cold start")).to_have_text(
        re.compile(r"^\d+\.\d s$")
    )
    expect(page.get_by_test_id("deployment-stat-Uptime")).not_to_have_text("Not running")

    # The live log: the tail at once, then the lines a request writes, with no reload.
    page.get_by_role("button", name="View logs").click()
    status = page.get_by_test_id("deployment-logs-status")
    expect(status).to_contain_text("Live")
    log = page.get_by_test_id("deployment-logs")
    expect(log).not_to_be_empty()
    before = _requests_logged(log)
    wait_until(lambda: _answered(client), timeout=30, interval=0.5)
    wait_until(lambda: _requests_logged(log) > before, timeout=30, interval=0.2)
    # It follows the end of the log, unless the person scrolled up to read.
    wait_until(lambda: _at_bottom(log), timeout=5, interval=0.1)
    log.evaluate("(element) => { element.scrollTop = 0; }")
    before = _requests_logged(log)
    assert _answered(client)
    wait_until(lambda: _requests_logged(log) > before, timeout=30, interval=0.2)
    assert log.evaluate("(element) => element.scrollTop") == 0
    expect(page.get_by_test_id("deployment-last-request")).not_to_have_text("—", timeout=30_000)

    # The request is counted in the day's metrics and the hourly chart, also without a reload.
    requests = page.get_by_test_id("deployment-stat-Requests (24h)")
    expect(requests).to_have_text(re.compile(r"^[1-9]"), timeout=30_000)
    expect(page.get_by_test_id("deployment-stat-Avg latency")).to_have_text(re.compile(r" ms$"))
    expect(bars).to_have_count(1)
    busy_hour = page.get_by_test_id("deployment-request-table").locator("tbody tr")
    expect(busy_hour).to_have_count(1)
    expect(busy_hour.locator("td").nth(1)).to_have_text(requests.inner_text())

    context = axe_context(browser, site, PHONE, "dark", owner)
    try:
        found = serious_violations(
            context.new_page(), f"/dashboard/deployments/{deployment_id}#logs"
        )
    finally:
        context.close()
    assert found == [], "\n".join(found)

    # Stopping ends the stream; the panel says so, with the state the server gave.
    page.get_by_role("button", name="Stop live-bot").click()
    expect(status).to_have_text(
        re.compile(r"^Stream ended \(the deployment is stopp(ing|ed)\)\.$"),
        timeout=START_TIMEOUT_MS,
    )
