"""Operators manage incidents by hand: create, update, resolve, edit — audited, announced."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from gptapi.models import AuditLog, Incident, Service, WebhookEvent
from tests.support.console import Member, sign_in
from tests.support.platform import Platform
from tests.support.threads import wait_until


@pytest.fixture
def admin(console: Platform) -> Any:
    operator = sign_in(console, admin=True)
    yield operator
    operator.client.close()


def _events(console: Platform, incident_id: int) -> list[tuple[str, dict[str, Any]]]:
    rows = console.rows(
        select(WebhookEvent)
        .where(WebhookEvent.event_type.startswith("incident."))
        .order_by(WebhookEvent.created_at)
    )
    return [
        (row.event_type, row.data)
        for row in rows
        if row.data["incident_id"] == str(incident_id) and row.organization_id is None
    ]


def test_incident_lifecycle(console: Platform, admin: Member) -> None:
    # The monitor creates the services as the platform starts.
    wait_until(lambda: bool(console.rows(select(Service.id).where(Service.key == "console"))))
    service_id = console.rows(select(Service.id).where(Service.key == "console"))[0]
    response = admin.client.post(
        "/api/admin/incidents",
        json={
            "title": "Sign-in failures",
            "severity": "high",
            "message": "Some sign-ins fail.",
            "service_id": service_id,
        },
    )
    assert response.status_code == 201
    incident = response.json()
    assert incident["status"] == "investigating"
    assert incident["service"] == "Console"
    assert incident["automatic"] is False
    incident_id = incident["id"]

    response = admin.client.post(
        f"/api/admin/incidents/{incident_id}/updates",
        json={"status": "identified", "message": "A bad deploy."},
    )
    assert response.status_code == 201
    assert response.json()["status"] == "identified"

    response = admin.client.patch(
        f"/api/admin/incidents/{incident_id}",
        json={"title": "Sign-in outage", "severity": "critical"},
    )
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["severity"]) == ("Sign-in outage", "critical")

    response = admin.client.post(
        f"/api/admin/incidents/{incident_id}/resolve", json={"message": "Rolled back."}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved" and body["resolved_at"]
    assert [(u["status"], u["message"]) for u in body["updates"]] == [
        ("resolved", "Rolled back."),
        ("identified", "A bad deploy."),
        ("investigating", "Some sign-ins fail."),
    ]

    events = _events(console, incident_id)
    assert [kind for kind, _ in events] == [
        "incident.created",
        "incident.updated",
        "incident.updated",
        "incident.resolved",
    ]
    resolved = events[-1][1]
    assert resolved["status"] == "resolved" and resolved["message"] == "Rolled back."
    assert resolved["components"] == ["Console"] and resolved["impact"] == "critical"
    assert resolved["resolved_at"].endswith("Z")

    actions = console.rows(
        select(AuditLog.action)
        .where(AuditLog.target_type == "incident", AuditLog.target_id == str(incident_id))
        .order_by(AuditLog.id)
    )
    assert actions == ["incident.create", "incident.update", "incident.edit", "incident.resolve"]

    listed = admin.client.get("/api/admin/incidents").json()
    assert incident_id in [item["id"] for item in listed]


def test_a_resolved_incident_takes_no_more_updates(console: Platform, admin: Member) -> None:
    incident_id = admin.client.post(
        "/api/admin/incidents",
        json={"title": "Blip", "message": "Short blip.", "status": "resolved"},
    ).json()["id"]
    response = admin.client.post(
        f"/api/admin/incidents/{incident_id}/updates",
        json={"status": "monitoring", "message": "Again?"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "incident_resolved"
    [incident] = console.rows(select(Incident).where(Incident.id == incident_id))
    assert incident.status == "resolved"


@pytest.mark.parametrize(
    ("path", "payload", "status", "param"),
    [
        ("", {"title": "", "message": "x"}, 422, "title"),
        ("", {"title": "x", "message": "x", "severity": "apocalyptic"}, 422, "severity"),
        ("", {"title": "x", "message": "x", "service_id": 987654}, 404, "service_id"),
        ("/{id}/updates", {"status": "fixed", "message": "x"}, 422, "status"),
        ("/{id}", {"title": None}, 400, None),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    console: Platform,
    admin: Member,
    path: str,
    payload: dict[str, Any],
    status: int,
    param: str | None,
) -> None:
    incident_id = admin.client.post(
        "/api/admin/incidents", json={"title": "Existing", "message": "x"}
    ).json()["id"]
    before = len(console.rows(select(Incident.id)))
    response = admin.client.request(
        "PATCH" if path == "/{id}" else "POST",
        "/api/admin/incidents" + path.format(id=incident_id),
        json=payload,
    )
    assert response.status_code == status
    assert response.json()["error"]["param"] == param
    assert len(console.rows(select(Incident.id))) == before
    [incident] = console.rows(select(Incident).where(Incident.id == incident_id))
    assert (incident.title, incident.status) == ("Existing", "investigating")


def test_only_platform_operators_manage_incidents(console: Platform, member: Member) -> None:
    assert member.client.get("/api/admin/incidents").status_code == 403
    response = member.client.post(
        "/api/admin/incidents", json={"title": "Fake outage", "message": "x"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert console.rows(select(Incident.id).where(Incident.title == "Fake outage")) == []
    assert member.client.post("/api/admin/incidents/1/resolve", json={}).status_code == 403
