"""Only platform admins reach /api/admin."""

from __future__ import annotations

import uuid

from tests.support.console import ConsoleClient, Member
from tests.support.platform import Platform

ROUTES = [
    ("GET", "/api/admin/models"),
    ("POST", "/api/admin/models"),
    ("PATCH", "/api/admin/models/1"),
    ("POST", "/api/admin/models/1/prices"),
    ("DELETE", "/api/admin/models/1/prices/1"),
    ("GET", "/api/admin/servers"),
    ("POST", "/api/admin/servers"),
    ("PATCH", "/api/admin/servers/1"),
    ("DELETE", "/api/admin/servers/1"),
    ("GET", "/api/admin/users"),
    ("POST", f"/api/admin/users/{uuid.uuid4()}/suspend"),
    ("GET", "/api/admin/orgs"),
    ("POST", f"/api/admin/orgs/{uuid.uuid4()}/suspend"),
    ("POST", f"/api/admin/orgs/{uuid.uuid4()}/credit-grants"),
    ("GET", "/api/admin/audit-log"),
]


def test_members_get_403_and_strangers_401(console: Platform, member: Member) -> None:
    anonymous = ConsoleClient(console.url)
    try:
        for method, path in ROUTES:
            response = member.client.request(method, path, json={})
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"]["code"] == "permission_denied"
            assert anonymous.request(method, path, json={}).status_code == 401, (method, path)
    finally:
        anonymous.close()


def test_operators_get_through(operator: Member) -> None:
    for method, path in ROUTES:
        if method == "GET":
            assert operator.client.get(path).status_code == 200, path
