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

from fastapi import Depends, Request
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


async def optional_viewer(request: Request, db: DbSession, state: State) -> Viewer | None:
    now = state.clock.now()
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        row = await find_session(db, token, now)
        if row is not None:
            if request.method not in SAFE_METHODS and not csrf_matches(
                state.secret_key, token, request.headers.get(CSRF_HEADER)
            ):
                raise forbidden(
                    "Missing or wrong X-CSRF-Token header; send the value of the gptapi_csrf "
                    "cookie.",
                    code="csrf_failed",
                )
            user = await db.get(User, row.user_id)
            if user is not None and user.is_active:
                return Viewer(user, row, token, row.reauthenticated_at, client_ip(request))
    authorization = request.headers.get("authorization", "")
    if state.bearer is not None and authorization[:7].lower() == "bearer ":
        identity = await state.bearer.authenticate(db, authorization[7:].strip())
        if identity is not None and identity.user.is_active:
            return Viewer(identity.user, None, None, identity.authenticated_at, client_ip(request))
    return None


async def current_viewer(viewer: Annotated[Viewer | None, Depends(optional_viewer)]) -> Viewer:
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
