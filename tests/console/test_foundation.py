"""The ground rules every /api route stands on: one error shape, sessions, CSRF, tenancy."""

from __future__ import annotations

import httpx

from tests.support.console import ConsoleClient, Member
from tests.support.platform import Platform


def test_public_config_needs_no_session(console: Platform) -> None:
    body = httpx.get(f"{console.url}/api/config").json()
    assert body["auth_provider"] == "local"
    assert body["base_url"]


def test_unknown_api_path_uses_the_api_error_shape(console: Platform) -> None:
    response = httpx.get(f"{console.url}/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["x-request-id"]


def test_signed_out_callers_get_401(console: Platform) -> None:
    client = ConsoleClient(console.url)
    response = client.get("/api/orgs/00000000-0000-0000-0000-000000000000/audit-log")
    assert response.status_code in (401, 404)
    client.close()


def test_state_changing_requests_need_the_csrf_header(console: Platform, member: Member) -> None:
    bare = httpx.Client(base_url=console.url, cookies=member.client.http.cookies)
    response = bare.post("/api/auth/confirm", json={"password": "x"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    bare.close()
