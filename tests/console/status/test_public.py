"""The public status page: its JSON shape, single incidents, and the Atom feed."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import httpx

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
    assert body["description"] == "Major outage"


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
