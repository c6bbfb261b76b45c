"""Console API clients for tests: an httpx client that echoes the CSRF cookie the way the web
console does, and a fast way to get a signed-in member of an organisation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.admin import service
from gptapi.console.auth.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, start_session
from gptapi.models import Membership, Organization, User
from tests.support.platform import Platform


class ConsoleClient:
    """Cookies kept between calls; X-CSRF-Token sent on every request once signed in."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        csrf = self.http.cookies.get(CSRF_COOKIE)
        if csrf and CSRF_HEADER not in {h.lower() for h in headers}:
            headers[CSRF_HEADER] = csrf
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.http.close()


@dataclass
class Member:
    """A signed-in user, the organisation they act in, and their client."""

    client: ConsoleClient
    user_id: uuid.UUID
    email: str
    org_id: uuid.UUID


def sign_in(
    platform: Platform,
    *,
    email: str | None = None,
    admin: bool = False,
    org_id: uuid.UUID | None = None,
    role: str = "owner",
) -> Member:
    """A verified user with a session cookie, created directly in the database.

    With `org_id`, the user joins that organisation with `role` and acts in it; otherwise they
    act in their personal organisation, as its owner."""
    email = email or f"member-{uuid.uuid4().hex[:10]}@example.com"
    client = ConsoleClient(platform.url)
    cookies: dict[str, str] = {}

    async def work(session: AsyncSession) -> tuple[uuid.UUID, uuid.UUID]:
        user, personal = await service.create_user(session, email, is_admin=admin)
        user.email_verified_at = datetime.now(UTC)
        acting: Organization = personal
        if org_id is not None:
            session.add(Membership(organization_id=org_id, user_id=user.id, role=role))
            organization = await session.get(Organization, org_id)
            assert organization is not None
            acting = organization
        response = Response()
        await start_session(
            session,
            user,
            request=Request({"type": "http", "headers": [], "client": ("127.0.0.1", 0)}),
            response=response,
            settings=platform.settings,
            secret_key=platform.runtime.console.secret_key,
            now=datetime.now(UTC),
        )
        for header in response.headers.getlist("set-cookie"):
            name, _, rest = header.partition("=")
            cookies[name] = rest.split(";", 1)[0]
        return user.id, acting.id

    user_id, acting_id = platform.run(work)
    client.http.cookies.set(SESSION_COOKIE, cookies[SESSION_COOKIE])
    client.http.cookies.set(CSRF_COOKIE, cookies[CSRF_COOKIE])
    return Member(client, user_id, email, acting_id)


def user_of(platform: Platform, member: Member) -> User:
    async def work(session: AsyncSession) -> User:
        user = await session.get(User, member.user_id)
        assert user is not None
        return user

    return platform.run(work)
