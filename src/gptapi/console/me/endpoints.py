"""/api/me: the signed-in person's profile, and deleting the account."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gptapi.console.auth.sessions import clear_session_cookies
from gptapi.console.deps import ConfirmedViewer, CurrentViewer, DbSession, State
from gptapi.console.errors import ErrorBody
from gptapi.console.me import service
from gptapi.console.me.schemas import Me, UpdateMe

router = APIRouter(prefix="/me", tags=["auth"])


@router.get("", summary="The signed-in user and their organizations")
async def get_me(viewer: CurrentViewer, db: DbSession, state: State) -> Me:
    return await service.me(db, viewer.user, state.secret_key)


@router.patch("", summary="Change your display name")
async def update_me(body: UpdateMe, viewer: CurrentViewer, db: DbSession, state: State) -> Me:
    viewer.user.name = body.name.strip()
    return await service.me(db, viewer.user, state.secret_key)


@router.delete(
    "",
    status_code=204,
    summary="Delete your account",
    description="Needs a recent confirmation (POST /api/auth/confirm). Revokes your API keys, "
    "closes your personal organization and signs you out everywhere; usage and billing records "
    "are kept for accounting. 409 if you are the only owner of an organization with other "
    "members.",
    responses={409: {"model": ErrorBody, "description": "Transfer ownership first."}},
)
async def delete_me(
    viewer: ConfirmedViewer, db: DbSession, state: State, response: Response
) -> None:
    await service.delete_account(db, viewer.user, now=state.clock.now(), ip=viewer.ip)
    clear_session_cookies(response)
