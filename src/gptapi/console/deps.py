"""Request dependencies of /api: the database session, who is calling, and what they may do.

Every organisation-scoped route takes `org_id` in its path and `require(capability)`: a caller
who is not a member gets 404 — the same as for an organisation that does not exist — and a
member whose role lacks the capability gets 403.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.auth.sessions import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    client_ip,
    csrf_matches,
    find_session,
)
from gptapi.console.errors import ApiError, forbidden, not_found
from gptapi.console.permissions import Capability, Role, allows
from gptapi.console.state import ConsoleState, console_state
from gptapi.models import Membership, Organization, User, UserSession

# How long after a password or 2FA confirmation sensitive actions are allowed.
REAUTH_WINDOW = timedelta(minutes=10)

State = Annotated[ConsoleState, Depends(console_state)]


async def db_session(state: State) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed after the endpoint returns and before the
    response is sent; an exception rolls everything back."""
    async with state.sessions() as session:
        yield session
        await session.commit()


DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]


@dataclass(frozen=True)
class Viewer:
    """The signed-in person making this request."""

    user: User
    session: UserSession | None  # None when authenticated by a bearer token (Supabase)
    session_token: str | None
    authenticated_at: datetime | None  # last password / 2FA / provider confirmation
    ip: str


# Declared as security schemes so the OpenAPI document says how /api authenticates.
_session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="Browser session, set by sign-in (HttpOnly).",
)
_csrf_header = APIKeyHeader(
    name=CSRF_HEADER,
    auto_error=False,
    description="The gptapi_csrf cookie's value; required with the session cookie on "
    "POST, PUT, PATCH and DELETE.",
)
_bearer_scheme = HTTPBearer(
    auto_error=False, description="A Supabase access token (AUTH_PROVIDER=supabase only)."
)


async def optional_viewer(request: Request, db: DbSession, state: State) -> Viewer | None:
    """Who is calling, if anyone. Routes that work signed out too (sign-out, contact) use this
    one, so the OpenAPI document does not claim they need credentials."""
    token = request.cookies.get(SESSION_COOKIE)
    csrf = request.headers.get(CSRF_HEADER)
    if "authorization" in request.headers:
        # A credential that is sent must be good: a bad one is refused, never ignored in
        # favour of whatever else the request carries.
        return await _bearer_viewer(request, db, state)
    if not token:
        return None
    row = await find_session(db, token, state.clock.now())
    if row is None:
        return None
    if request.method not in SAFE_METHODS and not csrf_matches(state.secret_key, token, csrf):
        raise forbidden(
            "Missing or wrong X-CSRF-Token header; send the value of the gptapi_csrf cookie.",
            code="csrf_failed",
        )
    user = await db.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return Viewer(user, row, token, row.reauthenticated_at, client_ip(request))


async def _bearer_viewer(request: Request, db: AsyncSession, state: ConsoleState) -> Viewer:
    if state.bearer is None:
        raise ApiError(
            401,
            "invalid_authorization",
            "The console API takes its session cookie here, not an Authorization header "
            "(API keys are for /v1).",
        )
    scheme, _, token = request.headers["authorization"].partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else ""
    identity = await state.bearer.authenticate(db, bearer) if bearer else None
    if identity is None or not identity.user.is_active:
        raise ApiError(401, "invalid_authorization", "The access token is not valid.")
    return Viewer(identity.user, None, None, identity.authenticated_at, client_ip(request))


async def current_viewer(
    viewer: Annotated[Viewer | None, Depends(optional_viewer)],
    # Declared only so the OpenAPI document states the credentials; optional_viewer reads them.
    _session: Annotated[str | None, Security(_session_cookie)],
    _csrf: Annotated[str | None, Security(_csrf_header)],
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)],
) -> Viewer:
    if viewer is None:
        raise ApiError(401, "unauthenticated", "Sign in first.")
    return viewer


OptionalViewer = Annotated[Viewer | None, Depends(optional_viewer)]
CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


async def recently_confirmed(viewer: CurrentViewer, state: State) -> Viewer:
    """Sensitive actions (revoke a key, disable 2FA, delete the account, change email) need a
    confirmation within REAUTH_WINDOW: POST /api/auth/confirm with the password or a 2FA code."""
    confirmed = viewer.authenticated_at
    if confirmed is None or state.clock.now() - confirmed > REAUTH_WINDOW:
        raise forbidden(
            "Confirm it's you first (POST /api/auth/confirm), then retry.",
            code="reauthentication_required",
        )
    return viewer


ConfirmedViewer = Annotated[Viewer, Depends(recently_confirmed)]


async def platform_admin(viewer: CurrentViewer) -> Viewer:
    if not viewer.user.is_admin:
        raise forbidden("Only platform operators can do this.")
    return viewer


PlatformAdmin = Annotated[Viewer, Depends(platform_admin)]


@dataclass(frozen=True)
class OrgContext:
    viewer: Viewer
    organization: Organization
    role: Role


def require(capability: Capability) -> Callable[..., Awaitable[OrgContext]]:
    """Dependency for routes under /api/orgs/{org_id}/…"""

    async def dependency(
        org_id: uuid.UUID, request: Request, viewer: CurrentViewer, db: DbSession
    ) -> OrgContext:
        row = (
            await db.execute(
                select(Organization, Membership.role)
                .join(Membership, Membership.organization_id == Organization.id)
                .where(Organization.id == org_id, Membership.user_id == viewer.user.id)
            )
        ).first()
        if row is None:
            raise not_found("organization")
        organization, role = row
        if not allows(role, capability):
            raise forbidden(f"Your role ({role}) does not allow {capability.value}.")
        if not organization.is_active and request.method not in SAFE_METHODS:
            raise forbidden(
                "This organization is suspended; contact support.", code="organization_suspended"
            )
        return OrgContext(viewer, organization, Role(role))

    return dependency
