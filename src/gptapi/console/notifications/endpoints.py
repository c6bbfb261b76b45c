"""/api/me/notifications (a person's mail preferences) and the one-click unsubscribe link
every non-security mail carries, /api/notifications/unsubscribe (no sign-in: the signed token
is the credential; RFC 8058's POST unsubscribes, a GET only describes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.deps import CurrentViewer, DbSession, State
from gptapi.console.errors import ApiError, bad_request
from gptapi.console.notifications.schemas import (
    NotificationChoice,
    NotificationSettings,
    NotificationUpdate,
    Unsubscribed,
    UnsubscribeInfo,
)
from gptapi.mail.preferences import BY_KEY, CATEGORIES, choices, choose
from gptapi.mail.unsubscribe import Unsubscribe
from gptapi.models import User

router = APIRouter(tags=["notifications"])
ALWAYS_SENT = (
    "Security and account mail — sign-in and verification links, password and email "
    "changes, two-factor changes and invitations — is always sent."
)
Token = Annotated[str, Query(min_length=1, max_length=200)]
ONE_CLICK = b"List-Unsubscribe=One-Click"


def _settings(chosen: dict[str, bool]) -> NotificationSettings:
    return NotificationSettings(
        categories=[
            NotificationChoice(
                key=c.key, label=c.label, description=c.description, enabled=chosen[c.key]
            )
            for c in CATEGORIES
        ],
        always_sent=ALWAYS_SENT,
    )


@router.get("/me/notifications", summary="Which mails you get")
async def get_notifications(viewer: CurrentViewer, db: DbSession) -> NotificationSettings:
    return _settings(await choices(db, viewer.user.id))


@router.put("/me/notifications", summary="Turn kinds of mail on or off")
async def put_notifications(
    body: NotificationUpdate, viewer: CurrentViewer, db: DbSession
) -> NotificationSettings:
    changes: dict[str, bool | None] = body.model_dump(exclude_unset=True)
    nulls = [key for key, value in changes.items() if value is None]
    if nulls:
        raise bad_request(f"{nulls[0]} must be true or false.", param=nulls[0])
    return _settings(await choose(db, viewer.user.id, {k: bool(v) for k, v in changes.items()}))


async def _subject(db: AsyncSession, state: State, token: str) -> tuple[Unsubscribe, User]:
    found = state.mailer.tokens.read(token)
    user = await db.get(User, found.user_id) if found is not None else None
    if found is None or user is None or found.category not in BY_KEY:
        raise ApiError(404, "invalid_token", "This unsubscribe link is not valid.", param="token")
    return found, user


def _masked(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:2]}…@{domain}"


@router.get("/notifications/unsubscribe", summary="What an unsubscribe link would turn off")
async def describe_unsubscribe(token: Token, db: DbSession, state: State) -> UnsubscribeInfo:
    found, user = await _subject(db, state, token)
    label = BY_KEY[found.category].label
    return UnsubscribeInfo(category=found.category, label=label, email=_masked(user.email))


@router.post(
    "/notifications/unsubscribe",
    summary="One-click unsubscribe (RFC 8058): turns one kind of mail off",
    description="The body is empty or `List-Unsubscribe=One-Click`, as mail clients send it.",
)
async def unsubscribe(token: Token, request: Request, db: DbSession, state: State) -> Unsubscribed:
    body = (await request.body()).strip()
    if body not in (b"", ONE_CLICK):
        raise bad_request("The body must be empty or List-Unsubscribe=One-Click.", param="body")
    found, user = await _subject(db, state, token)
    await choose(db, user.id, {found.category: False})
    label = BY_KEY[found.category].label
    return Unsubscribed(
        category=found.category, label=label, email=_masked(user.email), unsubscribed=True
    )
