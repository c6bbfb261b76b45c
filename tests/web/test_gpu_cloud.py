"""The GPU cloud in the console: compare its costs, deploy the model this platform runs
itself, watch it become ready, call it with its own key as the page shows (every quick-start
sample runs as copied), regenerate the key, follow it on the overview, API keys and billing,
then stop and delete it; and the warning when the balance covers less than an hour."""

from __future__ import annotations

import math
import re
import shutil
from decimal import Decimal

import httpx
import openai
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.console import Member
from tests.support.platform import Platform
from tests.support.threads import wait_until
from tests.web.browser import PHONE
from tests.web.conftest import grant
from tests.web.test_accessibility import axe_context, serious_violations
from tests.web.test_samples import run_all, samples_in

# The local provider starts a llama.cpp server; on a busy machine that takes a while.
START_TIMEOUT_MS = 120_000
HELLO = [{"role": "user", "content": "Hello!"}]


def _call(site: Platform, key: str, model: str) -> None:
    client = openai.OpenAI(base_url=f"{site.url}/v1", api_key=key, max_retries=0)
    reply = client.chat.completions.create(model=model, messages=HELLO, max_tokens=8)  # type: ignore[arg-type]
    assert reply.choices[0].message.content is not None


def _refused(site: Platform, key: str, model: str) -> bool:
    try:
        _call(site, key, model)
    except openai.AuthenticationError:
        return True
    return False


def _compare_costs(page: Page, site: Platform) -> None:
    panel = page.get_by_test_id("cost-comparison")
    page.get_by_label("Deployment", exact=True).select_option(
        label="Llama 3.1 70B Instruct ($1.99/hr)"
    )
    page.get_by_label("Input tokens a month (millions)").fill("3000")
    page.get_by_label("Output tokens a month (millions)").fill("1000")
    deployment = panel.get_by_role("row").nth(1)
    expect(deployment).to_contain_text("$1,452.70")  # 730 hours at $1.99
    expect(deployment).to_contain_text("per 1M tokens at this volume")
    # The token API at its listed prices, and the volume of the same mix from which the
    # deployment costs less.
    models = httpx.get(f"{site.url}/api/models").json()["data"]
    prices = next(m["pricing"] for m in models if m["id"] == "gpt-fast")
    monthly = 3000 * Decimal(prices["input"]) + 1000 * Decimal(prices["output"])
    break_even = math.ceil(Decimal("1452.70") / (monthly / 4000))
    fast = panel.get_by_role("row").filter(has_text="gpt-fast")
    expect(fast).to_contain_text(f"${monthly:,.2f}")
    expect(fast).to_contain_text(f"{break_even:,}M tokens")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is part of the console build")
@pytest.mark.timeout(900)
def test_deploy_a_catalog_model_call_it_stop_and_delete(
    page: Page, site: Platform, owner: Member
) -> None:
    grant(site, owner.org_id, "5")
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="GPU Cloud").click()
    expect(page).to_have_title("GPU Cloud · GPT API")
    cards = page.get_by_test_id("catalog-card")
    # A RunPod entry says why it cannot be deployed here instead of offering a button.
    llama = cards.filter(has_text="Llama 3.1 70B")
    expect(llama.first).to_contain_text("$1.99/hr")
    expect(llama.first.get_by_test_id("not-deployable")).to_contain_text("Needs RunPod")
    expect(llama.first.get_by_role("button", name=re.compile("Deploy"))).to_have_count(0)
    _compare_costs(page, site)

    page.get_by_role("radio", name=re.compile(r"^Chat")).click()
    page.get_by_label("Search models").fill("smol")
    expect(cards).to_have_count(1)
    card = cards.first
    expect(card).to_contain_text("$0.05/hr")
    expect(card).to_contain_text("Billed per second, minimum 1 minute.")
    card.get_by_role("button", name="Deploy SmolLM2 135M Instruct").click()

    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("deploy-cost")).to_contain_text("$1.20")  # a day at $0.05/hr
    dialog.get_by_label("Name").fill("my-bot")
    dialog.get_by_role("button", name="Deploy for $0.05/hr").click()

    expect(page).to_have_url(re.compile(r"/dashboard/deployments/dep_\w+$"))
    deployment_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_text(f"Deployment ID {deployment_id}")).to_be_visible()
    heading = page.get_by_role("heading", name=re.compile("my-bot"))
    state = heading.get_by_test_id("deployment-state")
    expect(state).to_have_text(re.compile("ready"), timeout=START_TIMEOUT_MS)
    expect(page).to_have_title("my-bot · Deployments · GPT API")
    # The page shows the platform's public base URL; the test reaches the same server directly.
    public = site.settings.base_url.rstrip("/") + "/v1"
    expect(page.get_by_test_id("deployment-endpoint")).to_have_text(public)
    sample = page.get_by_test_id("code-sample").first
    expect(sample).to_contain_text('"model": "my-bot"')
    expect(sample).to_contain_text(f"{public}/chat/completions")

    connection = page.locator("#connection")
    expect(connection).to_contain_text("No key yet")
    connection.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("deployment-key-secret").inner_text()
    assert secret.startswith("sk_dep_")
    masked = page.get_by_test_id("deployment-key-masked")
    expect(masked).to_have_text(re.compile(r"^sk_dep_[\w-]+•+$"))
    assert secret.startswith(masked.inner_text().rstrip("•"))
    _call(site, secret, "my-bot")
    # Every quick-start sample runs as shown, with the key exported as DEPLOYMENT_KEY.
    blocks = connection.locator("[data-slot=tabs]:has(> [aria-label=Language])")
    shown = samples_in(page, blocks)
    assert {label.split("\n", 1)[0] for label in shown} == {"curl", "Python", "JavaScript"}
    assert run_all(site, shown, secret, first=200) == []

    # Regenerating asks first; the old key stops working, the new one works.
    connection.get_by_role("button", name="Regenerate").click()
    page.get_by_role("dialog").get_by_role("button", name="Regenerate key").click()
    fresh = page.get_by_test_id("deployment-key-secret")
    expect(fresh).not_to_have_text(secret)
    new_secret = fresh.inner_text()
    wait_until(lambda: _refused(site, secret, "my-bot"), timeout=10, interval=0.2)
    _call(site, new_secret, "my-bot")
    expect(masked).to_have_text(re.compile("^" + re.escape(new_secret[:12])))

    # Runtime and total cost run on by themselves once past the first minute, which is
    # charged the moment it is ready.
    cost = page.get_by_test_id("deployment-cost")
    expect(cost).not_to_have_text("$0.00")
    runtime = page.get_by_test_id("deployment-runtime")
    expect(runtime).to_have_text(re.compile(r"^1m [1-9]\d?s$"), timeout=START_TIMEOUT_MS)
    first_cost = cost.inner_text()
    expect(cost).not_to_have_text(first_cost, timeout=START_TIMEOUT_MS)

    # API keys lists it under deployment keys, by prefix, with the way to regenerate it.
    page.goto("/dashboard/keys")
    row = page.get_by_test_id("deployment-key-row").filter(has_text="my-bot")
    expect(row).to_contain_text(new_secret[:12])
    row.get_by_role("link", name="Regenerate the key of my-bot").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/deployments/{deployment_id}#connection$"))

    # The overview counts and lists what runs, with the way to its API and logs.
    page.goto("/dashboard")
    expect(page.get_by_test_id("stat-Active deployments")).to_have_text("1")
    active = page.get_by_test_id("active-deployment").filter(has_text="my-bot")
    expect(active).to_contain_text("$0.05")
    expect(active).to_contain_text("CPU")
    activity = page.get_by_role("list", name="Recent activity")
    expect(activity).to_contain_text("my-bot deployment created")
    expect(activity).to_contain_text("Added $5.00 to balance (credit grant)")
    active.get_by_role("link", name="Logs of my-bot").click()
    expect(page.get_by_test_id("deployment-logs")).to_be_visible()
    page.go_back()
    page.get_by_test_id("active-deployment").get_by_role("button", name="Stop my-bot").click()
    expect(page.get_by_test_id("active-deployment")).to_have_count(0, timeout=START_TIMEOUT_MS)
    expect(page.get_by_role("list", name="Recent activity")).to_contain_text(
        "my-bot deployment stopped"
    )

    # Billing names the deployment and the hours it ran, and counts it among this month's
    # (charged once the stop completes: the page is opened again until it has the line).
    line = page.get_by_test_id("transaction").filter(has_text=re.compile(r"my-bot \(\d+\.\d\d h\)"))

    def billed() -> bool:
        page.goto("/dashboard/billing")
        page.get_by_test_id("transaction").first.wait_for()
        return line.count() == 1

    wait_until(billed, timeout=START_TIMEOUT_MS / 1000)
    expect(line).to_contain_text("-$0.00")
    deployments_spend = page.get_by_test_id("service-spend").filter(has_text="Model deployments")
    expect(deployments_spend).not_to_contain_text("$0.00 (0%)")
    expect(page.get_by_test_id("service-spend")).to_have_count(4)

    page.goto(f"/dashboard/deployments/{deployment_id}")
    page.get_by_role("button", name="Delete my-bot").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete deployment").click()
    expect(page).to_have_url(re.compile(r"/dashboard/deployments$"))
    expect(page.get_by_text("No deployments yet.")).to_be_visible()


def test_quick_deploy_and_the_warning_when_the_balance_covers_less_than_an_hour(
    page: Page, browser: Browser, site: Platform, owner: Member
) -> None:
    grant(site, owner.org_id, "0.02")  # 24 minutes at $0.05/hr
    page.goto("/dashboard")
    expect(page.get_by_test_id("dashboard-balance")).to_have_text("$0.02")
    # Quick deploy by keyboard alone: the dialog opens on the name, Enter deploys.
    quick = page.get_by_role("group", name="Popular models")
    quick.get_by_role("button", name=re.compile("SmolLM2 135M Instruct")).focus()
    page.keyboard.press("Enter")
    name = page.get_by_role("dialog").get_by_label("Name")
    expect(name).to_be_focused()
    name.press("ControlOrMeta+a")
    page.keyboard.type("short-bot")
    page.keyboard.press("Enter")
    state = page.get_by_role("heading", name=re.compile("short-bot")).get_by_test_id(
        "deployment-state"
    )
    expect(state).to_have_text(re.compile("ready"), timeout=START_TIMEOUT_MS)
    warning = page.locator("[data-sonner-toast][data-type='warning']")
    expect(warning).to_contain_text("Your balance covers less than an hour of what is running.")
    expect(warning).to_contain_text("at $0.05/hr lasts about")

    # With a deployment running, the GPU cloud screens have no serious axe violation on a
    # phone in the dark theme.
    context = axe_context(browser, site, PHONE, "dark", owner)
    try:
        phone = context.new_page()
        deployment = page.url.split("/dashboard", 1)[1]
        found = [
            found
            for path in ("", "/keys", "/billing", deployment)
            for found in serious_violations(phone, f"/dashboard{path}")
        ]
    finally:
        context.close()
    assert found == [], "\n".join(found)
    page.get_by_role("button", name="Stop short-bot").click()
    expect(state).to_have_text(re.compile("stopped"), timeout=START_TIMEOUT_MS)
