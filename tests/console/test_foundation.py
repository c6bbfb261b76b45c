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


def test_nul_characters_are_refused_anywhere_with_400(console: Platform, member: Member) -> None:
    # PostgreSQL cannot store U+0000; the answer is the same clear 400 on every backend.
    org = f"/api/orgs/{member.org_id}"
    renamed = member.client.patch(org, json={"name": "a\x00b"})
    assert renamed.status_code == 400
    assert renamed.json()["error"] == {
        "code": "invalid_request",
        "message": "Text may not contain the NUL character (U+0000).",
        "param": "name",
    }
    nested = member.client.post(f"{org}/keys", json={"name": "k", "allowed_models": ["x\x00"]})
    assert nested.json()["error"]["param"] == "allowed_models[0]"
    query = member.client.get(f"{org}/usage/requests", params={"model": "gpt\x00fast"})
    assert (query.status_code, query.json()["error"]["param"]) == (400, "model")
    assert member.client.get(org).json()["name"] != "a\x00b"


def test_a_bad_authorization_header_is_refused_not_ignored(
    console: Platform, member: Member
) -> None:
    response = member.client.get("/api/orgs", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_authorization"
    assert member.client.get("/api/orgs").status_code == 200
