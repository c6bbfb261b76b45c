"""Request dependencies of /api: the database session, who is calling, and what they may do.

Every organisation-scoped route takes `org_id` in its path and `require(capability)`: a caller
who is not a member gets 404 — the same as for an organisation that does not exist — and a
member whose role lacks the capability gets 403.

Organisation routes also take an API key with scopes (`Authorization: Bearer gpt_live_…`): it
acts as the person who made it, within its scopes, in its own organisation only. Every other
route (the person's account, sign-in, organisations list, operator) is for people and refuses
keys.
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

from gptapi.console import key_auth
from gptapi.console.auth.sessions import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    client_ip,
    csrf_matches,
    find_session,
)
from gptapi.console.errors import ApiError, forbidden, not_found
from gptapi.console.key_auth import KeyGrant
from gptapi.console.permissions import Capability, Role, allows, scope_for
from gptapi.console.state import ConsoleState, console_state
from gptapi.kit.key_scopes import Scope
from gptapi.kit.secrets import looks_like_api_key
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
    """The signed-in person making this request, or with `key` the person whose API key it is."""

    user: User
    session: UserSession | None  # None when authenticated by a bearer token (Supabase)
    session_token: str | None
    authenticated_at: datetime | None  # last password / 2FA / provider confirmation
    ip: str
    key: KeyGrant | None = None  # set when the call was made with an API key


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
    auto_error=False,
    description="An API key with scopes (gpt_live_…) on /api/orgs/{org_id}/… routes, or a "
    "Supabase access token (AUTH_PROVIDER=supabase only).",
)


async def caller(request: Request, db: DbSession, state: State) -> Viewer | None:
    """Who is calling, if anyone: a person (session cookie or Supabase token) or an API key."""
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


Caller = Annotated[Viewer | None, Depends(caller)]


async def optional_viewer(viewer: Caller) -> Viewer | None:
    """The person calling, if anyone. Routes that work signed out too (sign-out, contact) use
    this one, so the OpenAPI document does not claim they need credentials."""
    if viewer is not None and viewer.key is not None:
        raise forbidden(
            "API keys work on /api/orgs/{org_id}/… routes within their scopes; this one "
            "needs a person signed in.",
            code="key_not_allowed",
        )
    return viewer


async def _bearer_viewer(request: Request, db: AsyncSession, state: ConsoleState) -> Viewer:
    scheme, _, token = request.headers["authorization"].partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else ""
    if looks_like_api_key(bearer):
        user, grant = await key_auth.authenticate(db, bearer, state.clock.now())
        return Viewer(user, None, None, None, client_ip(request), grant)
    if state.bearer is None:
        raise ApiError(
            401,
            "invalid_authorization",
            "The console API takes its session cookie, or an API key with scopes "
            "(Authorization: Bearer gpt_live_…) on organisation routes.",
        )
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


async def org_caller(
    viewer: Caller,
    _session: Annotated[str | None, Security(_session_cookie)],
    _csrf: Annotated[str | None, Security(_csrf_header)],
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)],
) -> Viewer:
    if viewer is None:
        raise ApiError(401, "unauthenticated", "Sign in first, or send an API key.")
    return viewer


def require(
    capability: Capability, *, scope: Scope | None = None, people_only: bool = False
) -> Callable[..., Awaitable[OrgContext]]:
    """Dependency for routes under /api/orgs/{org_id}/…: the caller's role must allow
    `capability`; an API key must also hold `scope` (by default the capability's own, see
    `scope_for`). `people_only` routes refuse keys whatever their scopes."""
    needed = None if people_only else scope or scope_for(capability)

    async def dependency(
        org_id: uuid.UUID,
        request: Request,
        viewer: Annotated[Viewer, Depends(org_caller)],
        db: DbSession,
    ) -> OrgContext:
        if viewer.key is not None:
            _check_key(viewer.key, org_id, needed)
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


def _check_key(key: KeyGrant, org_id: uuid.UUID, needed: Scope | None) -> None:
    if key.organization_id != org_id:
        # Another organisation's path is as absent to a key as to a non-member.
        raise not_found("organization")
    if needed is None:
        raise forbidden(
            "API keys cannot do this; it needs a person signed in to the console.",
            code="key_not_allowed",
        )
    if needed not in key.scopes:
        raise forbidden(f"This API key lacks the {needed.value} scope.", code="insufficient_scope")
