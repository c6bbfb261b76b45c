"""Custom pods in the console: the form prices what is chosen with the server's own estimate,
says up front when this platform cannot run pods, and with RunPod (its loopback double) a
pod is created, runs with its SSH details, is stopped and terminated, at phone width in the
dark theme."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.console import Member, sign_in
from tests.support.databases import fresh_database
from tests.support.platform import Platform, test_settings as settings_for
from tests.support.runpod_double import API_KEY, PUBLIC_IP, RunPodDouble
from tests.web.browser import PHONE, ConsoleWatch
from tests.web.conftest import grant
from tests.web.test_accessibility import AXE, SERIOUS, SETTLED

T = TypeVar("T")
RTX_4090 = "NVIDIA GeForce RTX 4090"
IMAGE = "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime"
# The worker polls RunPod often here; the double runs a pod as soon as it is created.
STATE_TIMEOUT_MS = 30_000


def _estimate(site: Platform, spec: dict[str, Any]) -> dict[str, Any]:
    reply = httpx.post(f"{site.url}/api/compute/pods/estimate", json=spec)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _choose(form: Locator, gpu_type: str, count: int, cloud: str, storage_gb: int) -> None:
    form.get_by_label("GPU type").select_option(gpu_type)
    form.get_by_role("radio", name=str(count), exact=True).check()
    form.get_by_role("radio", name=re.compile(f"^{cloud} Cloud")).check()
    form.get_by_label(re.compile("^Storage")).select_option(str(storage_gb))


def test_the_form_prices_with_the_server_and_says_pods_need_a_provider(
    page: Page, site: Platform, owner: Member
) -> None:
    page.goto("/dashboard/pods")
    expect(page.get_by_text("No pods yet.")).to_be_visible()
    page.get_by_role("link", name="Create a pod").click()
    expect(page).to_have_title("New pod · Pods · GPT API")
    form = page.get_by_role("form", name="Deploy a custom pod")
    # Said before anything is filled in, and the button says why it cannot be used.
    expect(page.get_by_test_id("pods-unavailable")).to_contain_text("no container provider")
    deploy = form.get_by_role("button", name="Deploy pod")
    expect(deploy).to_be_disabled()
    expect(deploy).to_have_accessible_description(re.compile("need a container provider"))
    # The seed's example first: an RTX 4090 in Community Cloud with 50 GB.
    estimate = page.get_by_test_id("pod-estimate")
    expect(estimate).to_have_text("Estimated cost: $0.45/hr ($10.80/day)")
    expect(form.get_by_role("radio", name=re.compile("^Community Cloud"))).to_have_accessible_name(
        "Community Cloud $0.35/hr per GPU"
    )

    configurations = [
        ("NVIDIA A100 80GB PCIe", 2, "Secure", 100),
        ("NVIDIA H100 80GB HBM3", 8, "Community", 0),
        (RTX_4090, 4, "Secure", 2000),
    ]
    for gpu_type, count, cloud, storage_gb in configurations:
        _choose(form, gpu_type, count, cloud, storage_gb)
        price = _estimate(
            site,
            {
                "image": IMAGE,
                "gpu_type": gpu_type,
                "gpu_count": count,
                "cloud_type": cloud.upper(),
                "storage_gb": storage_gb,
            },
        )
        expect(estimate).to_have_text(
            f"Estimated cost: ${price['per_hour']}/hr (${price['per_day']}/day)"
        )

    # The GPU count is a radio group: arrow keys move the choice.
    form.get_by_role("radio", name="4", exact=True).focus()
    page.keyboard.press("ArrowRight")
    expect(form.get_by_role("radio", name="8", exact=True)).to_be_checked()

    # The server's refusal of a field shows at that field while typing.
    ports = form.get_by_label("Ports")
    ports.fill("8888/udp")
    expect(ports).to_have_accessible_description(re.compile("should match pattern"))
    expect(estimate).to_have_text("Correct the marked field to see the price.")
    ports.fill("8888/http")
    expect(ports).not_to_have_attribute("aria-invalid", "true")
    expect(estimate).to_contain_text("Estimated cost:")


@pytest.fixture(scope="module")
def runpod() -> Iterator[RunPodDouble]:
    double = RunPodDouble().start()
    try:
        yield double
    finally:
        double.stop()


def _off_this_thread(call: Callable[[], T]) -> T:
    # Once the browser is open, Playwright's sync API keeps an event loop running on this
    # thread, and migrations run one of their own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


@pytest.fixture(scope="module")
def cloud(runpod: RunPodDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The platform with RunPod as its container provider: pods are available."""
    tmp: Path = tmp_path_factory.mktemp("web-pods")
    with ExitStack() as stack:
        url = _off_this_thread(lambda: stack.enter_context(fresh_database("sqlite", tmp)))
        settings = settings_for(
            url,
            tmp,
            compute_poll_seconds=0.1,
            runpod_api_key=API_KEY,
            runpod_api_base=runpod.base_url,
            runpod_proxy_url=runpod.proxy_url,
        )
        platform = _off_this_thread(Platform(settings).start)
        try:
            yield platform
        finally:
            _off_this_thread(platform.stop)


@pytest.fixture
def phone(browser: Browser, cloud: Platform) -> Iterator[tuple[Page, Member]]:
    """A member with credit, signed in on a phone in the dark theme (axe needs its inline
    script, which the console's CSP rightly refuses)."""
    member = sign_in(cloud)
    grant(cloud, member.org_id, "20")
    context = browser.new_context(
        base_url=cloud.url, viewport=PHONE, reduced_motion="reduce", bypass_csp=True
    )
    context.set_default_timeout(15_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.add_init_script("localStorage.setItem('gptapi-theme', 'dark')")
    cookies = member.client.http.cookies
    context.add_cookies([{"name": n, "value": v, "url": cloud.url} for n, v in cookies.items()])
    page = context.new_page()
    watch = ConsoleWatch(page)
    try:
        yield page, member
    finally:
        context.close()
        member.client.close()
    assert watch.errors == [], "the page logged errors"


def _no_serious_violations(page: Page) -> None:
    page.wait_for_function(SETTLED)
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(SERIOUS) == []


def test_create_a_pod_see_it_run_with_its_ssh_details_stop_and_terminate_it(
    phone: tuple[Page, Member], runpod: RunPodDouble
) -> None:
    page, _ = phone
    page.goto("/dashboard/pods/new")
    form = page.get_by_role("form", name="Deploy a custom pod")
    expect(page.get_by_test_id("pod-estimate")).to_have_text(
        "Estimated cost: $0.45/hr ($10.80/day)"
    )
    expect(page.get_by_test_id("pods-unavailable")).to_have_count(0)
    _no_serious_violations(page)

    # A refusal from the server lands at its field, which takes the focus.
    image = form.get_by_label("Docker image")
    image.fill("Not An Image")
    form.get_by_label("Environment variables").fill("JUPYTER_PASSWORD=s3cret")
    form.get_by_label("Name (optional)").fill("training")
    form.get_by_role("button", name="Deploy pod").click()
    expect(image).to_have_accessible_description(re.compile("should match pattern"))
    expect(image).to_be_focused()

    image.fill(IMAGE)
    form.get_by_role("button", name="Deploy pod").click()
    expect(page).to_have_url(re.compile(r"/dashboard/pods$"))
    row = page.get_by_test_id("pod-row").filter(has_text="training")
    expect(row.get_by_test_id("pod-state")).to_have_text(
        re.compile("running"), timeout=STATE_TIMEOUT_MS
    )
    assert runpod.created[-1]["env"] == {"JUPYTER_PASSWORD": "s3cret"}
    expect(row.get_by_test_id("pod-price")).to_have_text("$0.45")
    ssh = re.compile(rf"^ssh root@{re.escape(PUBLIC_IP)} -p \d+$")
    reach = page.get_by_role("region", name="How to reach training")
    expect(reach.get_by_test_id("pod-ssh")).to_have_text(ssh)
    expect(reach.get_by_test_id("pod-jupyter")).to_contain_text("-8888")
    # The first minute is charged the moment it runs.
    expect(row.get_by_test_id("pod-cost")).not_to_have_text("$0.00")
    # The table scrolls inside its card: the page itself stays phone-wide.
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]
    reach.get_by_role("button", name="Copy SSH").click()
    assert ssh.match(page.evaluate("navigator.clipboard.readText()"))
    _no_serious_violations(page)

    # The overview lists it among what runs now, with its ssh command a click away.
    page.evaluate("navigator.clipboard.writeText('')")
    page.goto("/dashboard")
    active = page.get_by_test_id("active-pod").filter(has_text="training")
    expect(active.get_by_test_id("pod-state")).to_have_text(re.compile("running"))
    expect(active).to_contain_text("$0.45")
    active.get_by_role("button", name="Copy the SSH command of training").click()
    assert ssh.match(page.evaluate("navigator.clipboard.readText()"))
    page.goto("/dashboard/pods")

    row.get_by_role("button", name="Stop training").click()
    expect(row.get_by_test_id("pod-state")).to_have_text(
        re.compile("stopped"), timeout=STATE_TIMEOUT_MS
    )
    expect(reach).to_have_count(0)
    expect(row.get_by_role("button", name="Start training")).to_be_visible()

    row.get_by_role("button", name="Terminate training").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Terminate training?")
    dialog.get_by_role("button", name="Terminate pod").click()
    expect(page.get_by_text("No pods yet.")).to_be_visible(timeout=STATE_TIMEOUT_MS)
    assert all(pod.body["name"] != "training" for pod in runpod.pods.values())

    # Gone from the pods list, its end stays in the overview's recent activity: how long it
    # ran (the first minute is charged in full) and what it cost in all.
    page.goto("/dashboard")
    expect(page.get_by_test_id("active-pod")).to_have_count(0)
    expect(page.get_by_role("list", name="Recent activity")).to_contain_text(
        re.compile(r"training pod terminated after \d+m \d+s \(\$0\.\d+\)")
    )
