"""The public status page: its JSON shape, single incidents, and the Atom feed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gptapi.console.status import subscribers
from gptapi.console.status.derive import ServiceStatus
from gptapi.console.status.page import headline_of
from gptapi.console.status.schemas import IncidentOut
from gptapi.kit.db import session_maker
from tests.support.console import sign_in
from tests.support.platform import Platform
from tests.support.threads import wait_until

ATOM = "{http://www.w3.org/2005/Atom}"
ORDER = ["operational", "degraded_performance", "partial_outage", "major_outage"]


def _status(console: Platform) -> dict[str, Any]:
    response = httpx.get(f"{console.url}/api/status")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_status_page_needs_no_sign_in_and_draws_everything(console: Platform) -> None:
    # The monitor samples once as the platform starts.
    wait_until(lambda: bool(_status(console)["services"]), timeout=30)
    body = _status(console)
    assert set(body) == {"status", "description", "updated_at", "services", "servers", "incidents"}
    names = [service["name"] for service in body["services"]]
    assert names[0] == "Gateway API" and names[-2:] == ["Console", "Billing"]
    assert "Model: gpt-fast" in names
    console_service = next(s for s in body["services"] if s["key"] == "console")
    assert console_service["status"] == "operational"
    assert console_service["latency_ms"] is not None
    assert len(console_service["uptime"]) == 90
    assert console_service["uptime"][-1]["uptime"] == 1.0
    assert console_service["uptime_percent"] == 100.0
    assert console_service["response_times"][-1]["latency_ms"] >= 0
    # No inference servers here: the models are down, and the page shows its worst service.
    fast = next(s for s in body["services"] if s["key"] == "model:gpt-fast")
    assert fast["status"] == "major_outage"
    assert fast["uptime"][-1]["status"] == "major_outage"
    assert body["status"] == max((s["status"] for s in body["services"]), key=ORDER.index)
    # The monitor opens an incident per model down; the headline names what is open.
    assert body["description"].startswith("Major outage")


def test_one_incident_and_unknown_ones(console: Platform) -> None:
    admin = sign_in(console, admin=True)
    created = admin.client.post(
        "/api/admin/incidents",
        json={"title": "Slow sign-in", "severity": "low", "message": "Looking into it."},
    ).json()
    body = httpx.get(f"{console.url}/api/status/incidents/{created['id']}").json()
    assert body["title"] == "Slow sign-in"
    assert [u["message"] for u in body["updates"]] == ["Looking into it."]
    assert body["id"] in [incident["id"] for incident in _status(console)["incidents"]]

    missing = httpx.get(f"{console.url}/api/status/incidents/999999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{console.url}/api/status/incidents/nope").status_code == 422
    admin.client.close()


def test_atom_feed_lists_incidents_with_their_updates(console: Platform) -> None:
    admin = sign_in(console, admin=True)
    created = admin.client.post(
        "/api/admin/incidents",
        json={
            "title": "Elevated errors <gpt-full>",
            "severity": "high",
            "message": "Errors & timeouts.",
        },
    ).json()
    admin.client.post(f"/api/admin/incidents/{created['id']}/resolve", json={"message": "Fixed."})

    response = httpx.get(f"{console.url}/api/status/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title")
    assert feed.findtext(f"{ATOM}updated")
    entries = {entry.findtext(f"{ATOM}id"): entry for entry in feed.findall(f"{ATOM}entry")}
    entry = entries[f"{console.settings.base_url}/api/status/incidents/{created['id']}"]
    assert entry.findtext(f"{ATOM}title") == "[Resolved] Elevated errors <gpt-full>"
    assert entry.findtext(f"{ATOM}summary") == "Fixed."
    content = entry.findtext(f"{ATOM}content") or ""
    assert "Resolved: Fixed." in content and "Investigating: Errors & timeouts." in content
    admin.client.close()


def test_the_headline_follows_open_incidents() -> None:
    def incident(severity: str, title: str = "Slow answers") -> IncidentOut:
        now = datetime.now(UTC)
        return IncidentOut(
            id=1,
            title=title,
            status="investigating",
            severity=severity,
            service_id=None,
            service=None,
            automatic=False,
            created_at=now,
            updated_at=now,
            resolved_at=None,
            updates=[],
        )

    ok = [ServiceStatus.OPERATIONAL, ServiceStatus.OPERATIONAL]
    assert headline_of(ok, []) == (ServiceStatus.OPERATIONAL, "All systems operational")
    assert headline_of(ok, [incident("low")]) == (
        ServiceStatus.DEGRADED,
        "Degraded performance: Slow answers",
    )
    assert headline_of(ok, [incident("critical"), incident("low")]) == (
        ServiceStatus.MAJOR,
        "Major outage: 2 open incidents",
    )
    # Measurements worse than what the incident declares still win.
    status, _ = headline_of([ServiceStatus.MAJOR], [incident("medium")])
    assert status is ServiceStatus.MAJOR


def deliver(console: Platform) -> None:
    """What the status monitor's loop does after each sample, run now."""
    state = console.runtime.console

    async def work(session: AsyncSession) -> None:
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        sessions = session_maker(engine)  # the test's own engine, on its own loop
        await subscribers.mail_new_updates(
            sessions, state.mailer, console.settings.base_url, state.secret_key
        )

    console.run(work)


def test_incident_mail_is_double_opt_in_and_stops_on_unsubscribe(console: Platform) -> None:
    email = f"watcher-{uuid.uuid4().hex[:8]}@example.com"
    mailbox = console.runtime.console.mailer.transport

    def mails() -> list[Any]:
        return [m for m in mailbox.messages if m.to == email]

    asked = httpx.post(f"{console.url}/api/status/subscribe", json={"email": email})
    assert asked.status_code == 202
    wait_until(lambda: len(mails()) == 1)
    [confirmation] = mails()
    token = re.search(r"/status\?confirm=(\S+)", confirmation.text)
    assert token is not None
    bad = httpx.post(f"{console.url}/api/status/subscribe/confirm", json={"token": "nope"})
    assert bad.status_code == 404
    # Nothing is mailed before confirming.
    admin = sign_in(console, admin=True)
    admin.client.post(
        "/api/admin/incidents",
        json={"title": "Before confirming", "severity": "low", "message": "Unseen."},
    )
    confirmed = httpx.post(
        f"{console.url}/api/status/subscribe/confirm", json={"token": token.group(1)}
    )
    assert confirmed.status_code == 200
    admin.client.post(
        "/api/admin/incidents",
        json={"title": "Queue backlog", "severity": "high", "message": "Requests wait."},
    )
    deliver(console)
    wait_until(lambda: any("Queue backlog" in m.subject for m in mails()))
    assert not any("Before confirming" in m.subject for m in mails())
    update = next(m for m in mails() if "Queue backlog" in m.subject)
    leave = re.search(r"/status\?unsubscribe=(\S+)", update.text)
    assert leave is not None
    assert "high severity" in update.text
    signed = str(leave.group(1))
    forged = signed[:-1] + ("1" if signed.endswith("0") else "0")  # always another MAC
    tampered = httpx.post(f"{console.url}/api/status/unsubscribe", json={"token": forged})
    assert tampered.status_code == 404
    gone = httpx.post(f"{console.url}/api/status/unsubscribe", json={"token": leave.group(1)})
    assert gone.status_code == 200
    count = len(mails())
    admin.client.post(
        "/api/admin/incidents",
        json={"title": "After leaving", "severity": "low", "message": "Unseen."},
    )
    deliver(console)
    body = _status(console)
    assert body["description"] != "All systems operational"
    assert len(mails()) == count
    admin.client.close()
